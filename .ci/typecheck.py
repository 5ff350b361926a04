"""mypy over the engine and the catalogue under their import names (`linter/` is `prodready`, `rules/` is
`prodready.rules`), which mypy cannot derive from the directories: the sources are named explicitly.
Settings come from [tool.mypy] in pyproject.toml.

    python .ci/typecheck.py
"""

import os
import sys
from pathlib import Path

from mypy import build
from mypy.config_parser import parse_config_file
from mypy.errors import CompileError
from mypy.fscache import FileSystemCache
from mypy.options import Options

ROOT = Path(__file__).resolve().parent.parent


def sources() -> list[build.BuildSource]:
    found = []
    for package, directory in (("prodready", ROOT / "linter"), ("prodready.rules", ROOT / "rules")):
        for path in sorted(directory.rglob("*.py")):
            parts = list(path.relative_to(directory).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found.append(build.BuildSource(str(path.relative_to(ROOT)), ".".join([package, *parts])))
    return found


def main() -> int:
    os.chdir(ROOT)
    options = Options()
    parse_config_file(options, lambda: None, "pyproject.toml", sys.stdout, sys.stderr)
    try:
        result = build.build(sources(), options, fscache=FileSystemCache())
    except CompileError as error:
        result_messages = error.messages
    else:
        result_messages = result.errors
    for message in result_messages:
        print(message)
    files = len({message.split(":", 1)[0] for message in result_messages if ": error:" in message})
    errors = sum(": error:" in message for message in result_messages)
    print(
        f"mypy: {errors} errors in {files} files" if errors else f"mypy: no errors in {len(sources())} files"
    )
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
