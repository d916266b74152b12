"""``jrsv serve``: a live captioning server (Starlette on uvicorn; optional extra ``[serve]``).

:mod:`jrsv.serve.app` builds the application: a websocket endpoint for live PCM, an HTTP endpoint
for whole files, and the caption page (``static/``) served by the same process.
"""
