VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo test sandbox-tool clean

$(STAMP): pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/oversight demo

test: $(STAMP) sandbox-tool
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

clean:
	rm -rf $(VENV) reports/*/ build *.egg-info
