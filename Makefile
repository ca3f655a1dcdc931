VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo test sandbox-tool browser-tool clean

$(STAMP): pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/oversight demo

test: $(STAMP) sandbox-tool browser-tool
	$(PY) -m pytest -q

# Vendor models run under bubblewrap; install it where we can, else say why its tests skip.
sandbox-tool:
	@if command -v bwrap >/dev/null 2>&1 || test -x /usr/bin/bwrap; then \
		:; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		apt-get update && apt-get install -y bubblewrap; \
	else \
		echo "bubblewrap (bwrap) is not installed and cannot be installed here (needs root and apt-get):" \
		     "the model-isolation tests will be skipped; install the bubblewrap package to run them"; \
	fi

# The report is checked in headless Chromium (screenshot, DOM, print to PDF); install it where
# we can, else say why its tests skip.
browser-tool:
	@if command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1; then \
		:; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		apt-get update && apt-get install -y chromium; \
	else \
		echo "Chromium is not installed and cannot be installed here (needs root and apt-get):" \
		     "the report's browser tests will be skipped; install the chromium package to run them"; \
	fi

clean:
	rm -rf $(VENV) reports/*/ build *.egg-info
