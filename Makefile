# tlogwatch: the two commands a newcomer needs are `make run` and `make test`.
# Both install missing Debian packages first (scripts/install-deps.sh).
BUILD ?= build
CONFIG ?= deploy/tlogwatch.yaml
CMAKE_FLAGS ?=
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
PREFIX ?= /usr/local
DESTDIR ?=

.PHONY: all deps build bin test run install bench demo clean format format-check cppcheck

all: build

deps:
	@sh scripts/install-deps.sh

build: deps
	cmake -S . -B $(BUILD) $(CMAKE_FLAGS) >/dev/null
	cmake --build $(BUILD) -j $(JOBS)

test: build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

# Only the daemon, quietly: make's output goes to a log that is shown
# when the build fails (its warnings are shown when it succeeds).
bin: deps
	@cmake -S . -B $(BUILD) $(CMAKE_FLAGS) >/dev/null
	@cmake --build $(BUILD) -j $(JOBS) --target tlogwatch >$(BUILD)/bin.log 2>&1 || \
		{ cat $(BUILD)/bin.log; echo "make: building tlogwatch failed (log: $(BUILD)/bin.log)"; exit 1; }
	@grep -E "warning:" $(BUILD)/bin.log || true

run: bin
	@mkdir -p state
	$(BUILD)/bin/tlogwatch run -c $(CONFIG)

# The binary, the systemd unit, the man page, trusted_root.json and the
# example configs under $(PREFIX), staged under $(DESTDIR) when set
# (README "Install"; the unit's header has the steps that follow).
install: bin
	DESTDIR="$(DESTDIR)" cmake --install $(BUILD) --prefix "$(PREFIX)"

bench: build
	bash scripts/bench.sh $(BUILD)

demo: build
	bash scripts/demo.sh $(BUILD)

format:
	clang-format -i merkle/*.[ch] config/*.[ch] notify/*.[ch] monitor/*.[ch] monitor/*/*.[ch] tests/*.c tests/*/*.[ch]

format-check:
	clang-format --dry-run -Werror merkle/*.[ch] config/*.[ch] notify/*.[ch] monitor/*.[ch] monitor/*/*.[ch] tests/*.c tests/*/*.[ch]

cppcheck:
	cppcheck --quiet --enable=warning,portability --std=c11 --inline-suppr \
		-I . --error-exitcode=1 merkle config notify monitor tests/testlog

clean:
	rm -rf $(BUILD)
