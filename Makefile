# The set-up commands from the README.
.PHONY: app test bench classroom serve
REPLICAS ?= 4
PORT ?= 8080

app:  ## install (once) and run the app at http://localhost:8501
	bash scripts/setup.sh
	.venv/bin/python -m streamlit run app.py  # the app sets its own allocator policy (bert_playground/core/memory.py)

serve:  ## install (once) and answer quick queries over HTTP at http://127.0.0.1:8000 (README: Quick queries)
	bash scripts/setup.sh
	.venv/bin/python -m bert_playground serve

test:  ## install (once, with Chromium) and run all tests
	bash scripts/setup.sh --dev
	cd tests && HF_HUB_OFFLINE=1 ../.venv/bin/python -m pytest -q -p no:cacheprovider

classroom:  ## a lecture hall: REPLICAS app processes behind nginx at http://THIS-HOST:PORT (Ctrl-C stops)
	bash scripts/setup.sh --nginx
	bash scripts/classroom.sh --replicas $(REPLICAS) --port $(PORT)

bench:  ## print the benchmark table (see bench/run_all.py)
	bash scripts/setup.sh --dev
	HF_HUB_OFFLINE=1 .venv/bin/python bench/run_all.py
