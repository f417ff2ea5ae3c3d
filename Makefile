# tlogwatch: the two commands a newcomer needs are `make run` and `make test`.
# Both install missing Debian packages first (scripts/install-deps.sh).
BUILD ?= build
CONFIG ?= deploy/tlogwatch.yaml
CMAKE_FLAGS ?=
JOBS ?= $(shell nproc 2>/dev/null || echo 2)

.PHONY: all deps build test run bench demo clean format format-check cppcheck

all: build

deps:
	@sh scripts/install-deps.sh

build: deps
	cmake -S . -B $(BUILD) $(CMAKE_FLAGS) >/dev/null
	cmake --build $(BUILD) -j $(JOBS)

test: build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

run: build
	mkdir -p state
	$(BUILD)/bin/tlogwatch run -c $(CONFIG)

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
