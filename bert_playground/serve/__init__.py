"""A local inference server: `python -m bert_playground serve` loads one checkpoint once and answers over HTTP
(Starlette under uvicorn) in the Hugging Face Inference API's shapes and with the CLI's own commands.

`server` (start, bind, stop), `app` (routes, reading a request under the caps, answers and refusals), `tasks` (the
Inference API's tasks), `commands` (`/v1/<command>`: a request as the CLI's arguments, run by its `run_*`),
`model` (the served checkpoint under the app server's path rules), `pool` (the bounded worker pool), `limits`
(the caps and the one refusal), `openapi` (the description). The CLI's `--server` client is `cli/client.py`.
Nothing here is imported until used: the client path imports neither torch nor transformers.
"""
