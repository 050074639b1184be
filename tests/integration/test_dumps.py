"""Error dumps through a real proxy process (the .pyz) and the fake Argo: what a failed exchange
leaves in the dump_errors folder, and what never does."""

import base64
import json
import os
import socket
import threading

from tests import proxyproc

CHAT_PATH = "/api/v1/resource/chat/"
CHAT = {"model": "gpt4o", "messages": [{"role": "user", "content": "hi"}]}
KEY = "proxy-key-hunter7hunter7"


def start(start_proxy, folder, base_url, *args, **extra):
    config = {"argo_base_url": base_url, "dump_errors": str(folder),
              "model_refresh_interval_hours": 0}
    config.update(extra)
    return start_proxy("--user", "tester", *args, config=config)


def dumps(folder):
    """{request id: record} of the folder's dump files, and their names oldest first."""
    if not os.path.isdir(str(folder)):
        return {}, []
    names = sorted(n for n in os.listdir(str(folder)) if n.endswith(".json"))
    records, kept = {}, []
    for name in names:
        try:
            with open(os.path.join(str(folder), name), encoding="utf-8") as fh:
                rec = json.load(fh)
        except FileNotFoundError:   # the writer thread removed it (the cap) since the listing
            continue
        records[rec["request_id"]] = rec
        kept.append(name)
    return records, kept


def texts(folder):
    out = []
    for name in os.listdir(str(folder)):
        try:
            with open(os.path.join(str(folder), name), encoding="utf-8") as fh:
                out.append(fh.read())
        except FileNotFoundError:   # removed by the writer thread since the listing
            continue
    return out


def chat(p, body=CHAT, key=None):
    headers = {"Authorization": "Bearer " + key} if key else {}
    status, headers, reply = p.request("POST", "/v1/chat/completions", body=body, headers=headers)
    return status, headers["x-request-id"], reply


def test_an_argo_500_is_dumped_with_what_was_sent_answered_and_told(start_proxy, fake, tmp_path):
    folder = tmp_path / "dumps"
    p = start(start_proxy, folder, fake.url, "--api-key", KEY)
    image = base64.b64encode(os.urandom(3000)).decode()
    body = {"model": "gpt4o", "messages": [{"role": "user", "content": [
        {"type": "text", "text": "describe this; my proxy key is " + KEY},
        {"type": "image_url", "image_url": {"url": "data:image/png;base64," + image}}]}]}
    fake.add_fault(CHAT_PATH, times=1, status=500, body={"error": {"message": "Argo broke"}})
    status, rid, reply = chat(p, body, key=KEY)
    assert status == 500 and rid in reply["error"]["message"]
    assert p.stop() == 0             # what was queued is written at shutdown
    records, names = dumps(folder)
    assert list(records) == [rid] and names[0].endswith("-%s.json" % rid)
    rec = records[rid]
    assert rec["client"] == {"status": 500, "body": reply}    # exactly what the client saw
    assert rec["upstream"]["url"] == fake.url + CHAT_PATH
    assert rec["upstream"]["answer"] == {"status": 500, "bytes": rec["upstream"]["answer"]["bytes"],
                                         "body": {"error": {"message": "Argo broke"}}}
    sent = rec["upstream"]["request"]["body"]
    assert sent["model"] == "gpt4o" and sent["user"] == "tester"
    assert "data:image/png;base64," in json.dumps(sent)       # the image went upstream, cut here
    assert "my proxy key is ***" in json.dumps(sent)            # so did the key, masked here
    assert rec["failure"]["source"] == "upstream" and rec["failure"]["message"] == "Argo broke"
    assert rec["model"] == "gpt4o" and rec["path"] == "/v1/chat/completions"
    for text in texts(folder):
        assert KEY not in text and "hunter7" not in text and image[16:80] not in text
    assert oct(os.stat(str(folder)).st_mode & 0o777) == "0o700"
    assert oct(os.stat(str(folder / names[0])).st_mode & 0o777) == "0o600"
    assert "Traceback" not in p.log()


def test_a_flood_of_identical_failures_is_one_file_with_a_repeat_count(start_proxy, fake, tmp_path):
    folder = tmp_path / "dumps"
    p = start(start_proxy, folder, fake.url)
    fake.add_fault(CHAT_PATH, status=500, body={"error": {"message": "overloaded"}})
    ids = []

    def client():
        for _ in range(6):
            status, rid, _ = chat(p)
            assert status == 500
            ids.append(rid)
    threads = [threading.Thread(target=client) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert len(ids) == 24

    def counted():
        records, _ = dumps(folder)
        return len(records) == 1 and next(iter(records.values()))["repeats"] == 23
    assert proxyproc.wait_until(counted, timeout=10)
    rec = next(iter(dumps(folder)[0].values()))
    assert sorted([rec["request_id"]] + rec["repeat_ids"]) == sorted(ids)


def test_more_distinct_failures_than_the_cap_keep_the_newest(start_proxy, fake, tmp_path):
    folder = tmp_path / "dumps"
    p = start(start_proxy, folder, fake.url, dump_max_files=3)
    ids = []
    for i in range(7):
        fake.add_fault(CHAT_PATH, times=1, status=500, body={"error": {"message": "failure %d" % i}})
        status, rid, _ = chat(p)
        assert status == 500
        ids.append(rid)
        assert len(dumps(folder)[1]) <= 3
    assert proxyproc.wait_until(lambda: sorted(dumps(folder)[0]) == sorted(ids[-3:]), timeout=10)
    records, names = dumps(folder)
    assert [records[i]["failure"]["message"] for i in ids[-3:]] == ["failure 4", "failure 5",
                                                                   "failure 6"]
    assert [n.rsplit("-", 1)[1] for n in names] == ["%s.json" % i for i in ids[-3:]]


def test_successes_and_client_errors_leave_no_dump(start_proxy, fake, tmp_path):
    folder = tmp_path / "dumps"
    p = start(start_proxy, folder, fake.url)
    assert chat(p)[0] == 200
    assert chat(p, {"model": "gpt4o"})[0] == 400                      # fails validation
    assert chat(p, {"model": "gpt4o", "messages": "nope"})[0] == 400
    assert p.request("GET", "/v1/models")[0] == 200
    fake.add_fault(CHAT_PATH, times=1, status=500)
    status, marker, _ = chat(p)          # dumped after everything above (one writer, in order)
    assert status == 500
    assert proxyproc.wait_until(lambda: marker in dumps(folder)[0], timeout=10)
    assert list(dumps(folder)[0]) == [marker]


def test_a_network_failure_records_the_error_instead_of_an_answer(start_proxy, tmp_path):
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    closed = "http://127.0.0.1:%d" % sock.getsockname()[1]
    sock.close()
    folder = tmp_path / "dumps"
    p = start(start_proxy, folder, closed)
    status, rid, reply = chat(p)
    assert status in (502, 503) and rid in reply["error"]["message"]
    assert proxyproc.wait_until(lambda: rid in dumps(folder)[0], timeout=10)
    rec = dumps(folder)[0][rid]
    assert "answer" not in rec["upstream"] and rec["failure"]["source"] == "network"
    assert rec["upstream"]["url"] == closed + CHAT_PATH and rec["upstream"]["error"]
    assert rec["client"] == {"status": status, "body": reply}


def test_a_dump_folder_that_cannot_be_created_is_a_clear_error(start_proxy, tmp_path):
    (tmp_path / "afile").write_text("x")
    p = start_proxy("--user", "t", config={"dump_errors": str(tmp_path / "afile" / "dumps")})
    assert p.wait_for_exit(20) == 1
    assert proxyproc.wait_until(lambda: "cannot create the error-dump folder" in p.log())
    assert "afile" in p.log() and "Traceback" not in p.log() and "Listening on" not in p.log()
