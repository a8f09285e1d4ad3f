# The two set-up commands from the README.
.PHONY: app test bench

app:  ## install (once) and run the app at http://localhost:8501
	bash scripts/setup.sh
	MALLOC_MMAP_THRESHOLD_=131072 .venv/bin/python -m streamlit run app.py  # large tensors go back to the OS at once

test:  ## install (once, with Chromium) and run all tests
	bash scripts/setup.sh --dev
	cd tests && HF_HUB_OFFLINE=1 ../.venv/bin/python -m pytest -q -p no:cacheprovider

bench:  ## print the benchmark table (see bench/run_all.py)
	bash scripts/setup.sh --dev
	HF_HUB_OFFLINE=1 .venv/bin/python bench/run_all.py
