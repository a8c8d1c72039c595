"""What a server builds once per process, around the engine: the runner (the warmed-up network,
its cost models and the runs it relays to callers) and the HTTP-level guards (serving.py).

gradio-free: the web page (``style_transfer.web``) and the load tests use it.
"""
