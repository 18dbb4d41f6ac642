"""``function_source(fn)``: the source of a function's definition, parsed:
``inspect.getsourcelines(fn.__code__)``, cheaper.

``inspect`` finds the module of the code (a scan of ``sys.modules`` the
first time a file is seen) and the end of the ``def`` by tokenizing it.
Here the lines come from ``linecache`` (what ``inspect`` reads too) and the
``def`` ends at its last line that holds an instruction or is indented
deeper than the ``def``, found from the code's positions. Whenever that
cannot be trusted (no lines in the cache or on disk, an odd indentation, a
block that does not parse as one ``def``), ``inspect`` answers.
"""

import ast
import inspect
import linecache
import re
import textwrap
import types

# inspect.findsource's pattern: the line that starts the definition.
_DEF = re.compile(r"^(\s*def\s)|(\s*async\s+def\s)|(.*(?<!\w)lambda(:|\s))|^(\s*@)")
_DEFS = (ast.FunctionDef, ast.AsyncFunctionDef)


def function_source(fn):
    """``(source, first, tree)``: the dedented source of ``fn``'s definition
    (decorators included), the line of the file where it starts, and the
    source parsed, as ``inspect.getsourcelines(fn.__code__)`` and
    ``ast.parse`` give them; raises OSError or TypeError as ``inspect`` does,
    SyntaxError as ``ast.parse`` does."""
    found = _fast_lines(fn.__code__)
    if found is not None:
        block, first = found
        source = textwrap.dedent("".join(block))
        try:
            tree = ast.parse(source)
        except (SyntaxError, ValueError):
            tree = None
        # One def and nothing else, as inspect finds it: else inspect says.
        if tree is not None and len(tree.body) == 1 and isinstance(tree.body[0], _DEFS):
            return source, first, tree
    lines, first = inspect.getsourcelines(fn.__code__)
    source = textwrap.dedent("".join(lines))
    return source, first, ast.parse(source)


def _fast_lines(code: types.CodeType):
    """The lines of the definition of ``code`` and the number of its first
    line, or None when they cannot be told this way."""
    file = code.co_filename
    if not file or not (file in linecache.cache or (not file.startswith("<") and file.endswith(".py"))):
        return None
    linecache.checkcache(file)
    lines = linecache.getlines(file)
    start = code.co_firstlineno - 1
    if not lines or not 0 <= start < len(lines):
        return None
    while start > 0 and not _DEF.match(lines[start]):
        start -= 1
    head = lines[start]
    indent = len(head) - len(head.lstrip())
    if "\t" in head[:indent]:
        return None
    last = max(start, _last_line(code) - 1)
    if last >= len(lines):
        return None
    for k in range(last + 1, len(lines)):
        line = lines[k]
        text = line.strip()
        if not text or text.startswith("#"):
            continue
        lead = len(line) - len(line.lstrip())
        if "\t" in line[:lead]:
            return None
        if lead <= indent:
            break
        last = k
    return lines[start : last + 1], start + 1


def _last_line(code: types.CodeType) -> int:
    """The last line any instruction of ``code`` or of the code inside it
    (nested functions, comprehensions, lambdas) comes from."""
    last = code.co_firstlineno
    todo = [code]
    while todo:
        c = todo.pop()
        for _line, end, _col, _end_col in c.co_positions():
            if end is not None and end > last:
                last = end
        todo.extend(k for k in c.co_consts if isinstance(k, types.CodeType))
    return last
