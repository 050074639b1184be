"""Model registry: maps user-facing names ("argo:gpt-4o") to Argo internal ids.

Pure module: no sockets, files or threads. The caller fetches the upstream
model list and hands us a zero-argument callable that returns the parsed JSON.
"""

from __future__ import annotations

import re
import threading
import time

ARGO_PREFIXES = ("argo:", "argo/")


def _claude(internal_id, codename, version):
    # Claude models are known under both word orders.
    return (internal_id, ("argo:claude-%s-%s" % (codename, version),
                          "argo:claude-%s-%s" % (version, codename)))


# Built-in chat table, used until an upstream list arrives. Order matters:
# it is the listing order of /v1/models.
BUILTIN_CHAT = (
    ("gpt4o", ("argo:gpt-4o",)),
    ("gpto1", ("argo:gpt-o1", "argo:o1")),
    ("gpto3mini", ("argo:gpt-o3-mini", "argo:o3-mini")),
    ("gpto3", ("argo:gpt-o3", "argo:o3")),
    ("gpto4mini", ("argo:gpt-o4-mini", "argo:o4-mini")),
    ("gpt41", ("argo:gpt-4.1",)),
    ("gpt41mini", ("argo:gpt-4.1-mini",)),
    ("gpt41nano", ("argo:gpt-4.1-nano",)),
    ("gpt5", ("argo:gpt-5",)),
    ("gpt5mini", ("argo:gpt-5-mini",)),
    ("gpt5nano", ("argo:gpt-5-nano",)),
    ("gpt51", ("argo:gpt-5.1",)),
    ("gpt52", ("argo:gpt-5.2",)),
    ("gpt54", ("argo:gpt-5.4",)),
    ("gpt55", ("argo:gpt-5.5",)),
    ("gemini25pro", ("argo:gemini-2.5-pro",)),
    ("gemini25flash", ("argo:gemini-2.5-flash",)),
    ("gemini35flash", ("argo:gemini-3.5-flash",)),
    ("gemini31flashlite", ("argo:gemini-3.1-flash-lite",)),
    _claude("claudeopus47", "opus", "4.7"),
    _claude("claudeopus46", "opus", "4.6"),
    _claude("claudeopus45", "opus", "4.5"),
    _claude("claudeopus41", "opus", "4.1"),
    _claude("claudesonnet46", "sonnet", "4.6"),
    _claude("claudesonnet45", "sonnet", "4.5"),
    _claude("claudehaiku45", "haiku", "4.5"),
)

# Embedding models are always present, whatever upstream says: the upstream
# list only covers chat models.
BUILTIN_EMBEDDINGS = (
    ("ada002", ("argo:text-embedding-ada-002",)),
    ("v3small", ("argo:text-embedding-3-small",)),
    ("v3large", ("argo:text-embedding-3-large",)),
)

_BUILTIN_ALIASES = dict(BUILTIN_CHAT + BUILTIN_EMBEDDINGS)
_EMBEDDING_IDS = frozenset(iid for iid, _ in BUILTIN_EMBEDDINGS)
_FAMILIES = ("openai", "anthropic", "google")


def family(internal_id):
    """Vendor family of an internal id: openai, anthropic, google or unknown."""
    if not isinstance(internal_id, str):
        return "unknown"
    name = internal_id.strip().lower()
    if name.startswith("claude"):
        return "anthropic"
    if name.startswith("gemini"):
        return "google"
    if (name.startswith(("gpt", "o1", "o3", "o4", "ada"))
            or name in ("v3small", "v3large") or "embedding" in name):
        return "openai"
    return "unknown"


def lookup_key(name):
    """Lookup key: case-insensitive, optional "argo:" / "argo/" prefix."""
    key = name.strip().lower()
    if key.startswith(ARGO_PREFIXES):
        key = key[len("argo:"):].strip()
    return key


_key = lookup_key


_CONTEXT_SUFFIX = re.compile(r"\[[^\]]*\]$")          # claude-sonnet-4-5[1m]
_DATE_SUFFIX = re.compile(r"[-@](\d{8}|latest)$")         # -20250929, @20250929, -latest
_OLD_CLAUDE = re.compile(r"^claude-(\d+)-(\d+)-([a-z]+)$")  # claude-3-5-sonnet


def vendor_key(key):
    """A vendor's model id as Argo's compact id: claude-sonnet-4-5-20250929 -> claudesonnet45,
    claude-3-5-sonnet-latest -> claudesonnet35, gpt-4o -> gpt4o, gemini-2.5-pro -> gemini25pro."""
    key = _DATE_SUFFIX.sub("", _CONTEXT_SUFFIX.sub("", key))
    old = _OLD_CLAUDE.match(key)
    if old:
        key = "claude-%s-%s-%s" % (old.group(3), old.group(1), old.group(2))
    return re.sub(r"[^a-z0-9]", "", key)


def _text(value):
    """A stripped non-empty string, or None."""
    if isinstance(value, str) and value.strip():
        return value.strip()
    return None


def _parse_entry(item):
    """One upstream element -> (internal_id, display, owned_by) or None."""
    if not isinstance(item, dict):
        return None
    ident = _text(item.get("id"))
    internal = _text(item.get("internal_id"))
    owned_by = _text(item.get("owned_by"))
    if internal is not None:
        # New format: "id" is the display name.
        return internal, ident or internal, owned_by
    if ident is None:
        return None
    # Old format carries the display name in "model_name"; the plain
    # OpenAI shape has none, so the id doubles as display name.
    return ident, _text(item.get("model_name")) or ident, owned_by


def parse_model_list(payload):
    """Parse an upstream model list into (internal_id, display, owned_by) tuples.

    Malformed elements are skipped; raises ValueError if nothing usable remains.
    """
    if isinstance(payload, dict):
        data = payload.get("data")
        if not isinstance(data, list):
            raise ValueError("model list payload has no 'data' list")
    elif isinstance(payload, list):
        data = payload
    else:
        raise ValueError("model list payload is %s, not an object or list"
                         % type(payload).__name__)
    parsed = [entry for entry in map(_parse_entry, data) if entry is not None]
    if not parsed:
        raise ValueError("model list contains no usable entries")
    return parsed


def aliases_for(internal_id, display_name):
    """User-facing aliases derived from an upstream display name."""
    if not isinstance(display_name, str) or not isinstance(internal_id, str):
        return []
    name = "-".join(display_name.lower().split())
    iid = internal_id.strip().lower()
    if not name or name == iid:
        return []  # "argo:<id>" already resolves; listing it adds nothing
    aliases = []
    if iid.startswith("gpto") and not name.startswith("gpt"):
        aliases.append("argo:gpt-" + name)
    aliases.append("argo:" + name)
    if iid.startswith("claude"):
        parts = name.split("-")
        if len(parts) >= 3:  # shorter Claude names just keep the plain alias
            swapped = "argo:claude-%s-%s" % (parts[2], parts[1])
            if len(parts) > 3:
                swapped += "-" + "-".join(parts[3:])
            if swapped not in aliases:
                aliases.append(swapped)
    return aliases


class _Snapshot(object):
    """Immutable view of the table. Readers take one reference and use it."""

    __slots__ = ("models", "by_id", "by_alias", "owner", "source", "made")

    def __init__(self, rows, source):
        # rows: iterable of (internal_id, aliases, upstream_owned_by)
        self.source = source
        self.made = time.time()   # when this table was made (its age: /metrics, the status page)
        self.by_id = {}      # lower id -> canonical id
        self.owner = {}      # canonical id -> owned_by for listings
        kept = []
        for iid, aliases, owned_by in rows:
            if iid.lower() in self.by_id:
                continue  # duplicate id: first one wins
            self.by_id[iid.lower()] = iid
            fam = family(iid)
            self.owner[iid] = (owned_by or "argo") if fam == "unknown" else fam
            kept.append((iid, aliases))
        self.by_alias = {}   # alias key -> (alias as listed, canonical id)
        models = []
        for iid, aliases in kept:
            mine = []
            for alias in aliases:
                key = _key(alias)
                # Ids resolve before aliases, and the first alias claim wins.
                if not key or key in self.by_id or key in self.by_alias:
                    continue
                self.by_alias[key] = (alias, iid)
                mine.append(alias)
            models.append((iid, tuple(mine)))
        self.models = tuple(models)

    def alias_count(self):
        return len(self.by_alias)


def _builtin_rows():
    return [(iid, aliases, None)
            for iid, aliases in BUILTIN_CHAT + BUILTIN_EMBEDDINGS]


def _upstream_rows(parsed):
    """Rows for a fetched list, with built-in embeddings merged on top."""
    rows = []
    for iid, display, owned_by in parsed:
        if iid.lower() in _EMBEDDING_IDS:
            continue  # the built-in embedding entries below take precedence
        aliases = aliases_for(iid, display)
        # Keep built-in aliases of known ids so "argo:gpt-4o" keeps working
        # when upstream only sends bare ids.
        builtin = _BUILTIN_ALIASES.get(iid.lower(), ())
        aliases += [a for a in builtin if a not in aliases]
        rows.append((iid, aliases, owned_by))
    rows.extend((iid, aliases, None) for iid, aliases in BUILTIN_EMBEDDINGS)
    return rows


def _short_error(exc):
    text = "%s: %s" % (type(exc).__name__, exc)
    return text if len(text) <= 200 else text[:197] + "..."


class ModelRegistry(object):
    """Name resolution and /v1/models listing.

    Reads are lock-free: every change builds a new _Snapshot and swaps the
    single ``_snap`` reference, which is atomic in CPython.
    """

    def __init__(self, created, user_aliases=None):
        self.created = int(created)
        # the user's own names (config model_aliases): checked first, listed first
        self.user_aliases = {_key(k): str(v) for k, v in (user_aliases or {}).items()}
        self._user_names = [str(k) for k in (user_aliases or {})]
        self._snap = _Snapshot(_builtin_rows(), "builtin")
        self._write_lock = threading.Lock()  # serialises refreshes only

    def _lookup(self, snap, name):
        """(canonical id, listed name) for name, or None."""
        if not isinstance(name, str):
            return None
        key = _key(name)
        if not key:
            return None
        target = self.user_aliases.get(key) or self.user_aliases.get(
            _DATE_SUFFIX.sub("", _CONTEXT_SUFFIX.sub("", key)))
        if target is not None and _key(target) != key:
            found = self._lookup(snap, target)
            return (found[0] if found else target), name.strip()
        iid = snap.by_id.get(key)
        if iid is not None:
            return iid, iid
        hit = snap.by_alias.get(key) or snap.by_alias.get(_DATE_SUFFIX.sub("", key))
        if hit is not None:
            return hit[1], hit[0]
        iid = snap.by_id.get(vendor_key(key))
        if iid is not None:
            return iid, iid
        return None

    def resolve(self, name):
        """(internal id, True) for a known name, else (name unchanged, False)."""
        found = self._lookup(self._snap, name)
        if found is None:
            return name, False
        return found[0], True

    def family(self, name):
        found = self._lookup(self._snap, name)
        if found is not None:
            return family(found[0])
        # Unknown model: still guess from the name, minus any argo: prefix.
        return family(_key(name)) if isinstance(name, str) else "unknown"

    def _entry(self, snap, listed, iid):
        return {"id": listed, "object": "model", "created": self.created,
                "owned_by": snap.owner.get(iid) or family(iid).replace("unknown", "argo"),
                "internal_name": iid}

    def entries(self):
        """OpenAI-shaped dicts: the user's names, then each internal id followed by its aliases."""
        snap = self._snap
        out = [self.get(name) for name in self._user_names]
        for iid, aliases in snap.models:
            out.append(self._entry(snap, iid, iid))
            out.extend(self._entry(snap, alias, iid) for alias in aliases)
        return out

    def openai_list(self):
        return self.entries()

    def get(self, name):
        """Listing dict for one model (id = the name as listed), or None."""
        snap = self._snap
        found = self._lookup(snap, name)
        if found is None:
            return None
        iid, listed = found
        return self._entry(snap, listed, iid)

    def stats(self):
        snap = self._snap
        by_family = dict((fam, 0) for fam in _FAMILIES)
        for iid, _ in snap.models:
            fam = family(iid)
            by_family[fam] = by_family.get(fam, 0) + 1
        return {"models": len(snap.models), "aliases": snap.alias_count(),
                "by_family": by_family, "source": snap.source, "updated": snap.made}

    def refresh(self, fetch):
        """Replace the table from fetch(); on any failure keep the old one.

        Never raises: returns a report dict with "ok" and before/after counts.
        """
        with self._write_lock:
            old = self._snap
            report = {"models_before": len(old.models),
                      "aliases_before": old.alias_count()}
            try:
                parsed = parse_model_list(fetch())
                new = _Snapshot(_upstream_rows(parsed), "upstream")
            except Exception as exc:  # any fetch/parse failure keeps the table
                report.update(ok=False, error=_short_error(exc),
                              source=old.source,
                              models_after=report["models_before"],
                              aliases_after=report["aliases_before"],
                              added=[], removed=[])
                return report
            self._snap = new
        old_ids = [iid for iid, _ in old.models]
        new_ids = [iid for iid, _ in new.models]
        old_set, new_set = set(old_ids), set(new_ids)
        report.update(ok=True, source="upstream",
                      models_after=len(new.models),
                      aliases_after=new.alias_count(),
                      added=[i for i in new_ids if i not in old_set],
                      removed=[i for i in old_ids if i not in new_set])
        return report
