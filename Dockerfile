# argo-proxy in a small image. Build the zipapp first:  python3 build_zipapp.py
#   docker build -t argo-proxy .
#   docker run -p 8322:8322 -e LLAMASTACK_URL=http://host.docker.internal:8321 argo-proxy
# LlamaStack mode is on by default here (the seed proxy's use); for Argo, clear it:
#   docker run -p 44497:44497 -e LLAMASTACK_URL= argo-proxy --native-openai --user jdoe --port 44497
FROM python:3.12-slim
COPY argo-proxy.pyz /app/argo-proxy.pyz
ENV LLAMASTACK_URL=http://host.docker.internal:8321 \
    PROXY_PORT=8322 \
    PYTHONUNBUFFERED=1
EXPOSE 8322
USER nobody
# 0.0.0.0 inside the container so the published port reaches it; add --api-key on shared hosts
ENTRYPOINT ["python3", "/app/argo-proxy.pyz", "--host", "0.0.0.0"]
