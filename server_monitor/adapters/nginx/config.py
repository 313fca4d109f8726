"""nginx's configuration syntax: directives, blocks, quoted strings, comments, includes.

A small reader of the syntax nginx itself reads (src/core/ngx_conf_file.c), enough to
find sites, their logs and the log formats; it understands no directive's meaning.

- A directive is words ended by `;`, or words followed by a `{ … }` block. Words are
  separated by blanks; `;` and `{` end a word (except `${` of a variable), `}` does
  only at a word's start. `#` at a word's start comments out the rest of the line.
- '…' and "…" are one word each; inside them and in bare words a backslash escapes
  the next character (`\\"`, `\\'`, `\\\\`, `\\t`, `\\r`, `\\n` are unescaped as nginx does).
  A closing quote must be followed by a blank, `;`, `{` or `)`.
- `include PATTERN;` is replaced by the directives of the files it names, in place,
  sorted, as nginx does; a relative pattern is relative to the main configuration's
  folder (nginx's conf prefix), not to the including file.

Bounded against hostile or broken input: a file is read only when it is a regular
file of at most MAX_FILE_BYTES (opened without blocking, so a FIFO cannot hang us),
at most MAX_FILES files per reading, includes MAX_INCLUDE_DEPTH deep and blocks
MAX_BLOCK_DEPTH deep. A file that breaks a rule is a ConfigError naming the file and
line; a broken include is recorded as a problem and left out, as the rest still says
something true. Nothing here raises anything else on any input.

Configuration files are root's: they are read through symbolic links (sites-enabled
holds links into sites-available). Log files named in them are not opened here.
"""

from __future__ import annotations

import glob
import itertools
import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass

from server_monitor import caching
from server_monitor.errors import Unavailable

MAX_FILE_BYTES = 1024 * 1024
MAX_FILES = 512
MAX_INCLUDE_DEPTH = 10
MAX_BLOCK_DEPTH = 32
BLANKS = " \t\r\n"
ESCAPED = {'"': '"', "'": "'", "\\": "\\", "t": "\t", "r": "\r", "n": "\n"}

# A file is parsed once per change (its identity, size and time), not on every discovery.
_parsed: caching.TTLCache[tuple[str, int, int, int, int], tuple[Directive, ...]] = caching.TTLCache(
    "nginx-config-files", 300, maxsize=2048
)


class ConfigError(Unavailable):
    """A configuration file wpdash cannot read or understand; `detail` names the file and line."""


@dataclass(frozen=True)
class Token:
    kind: str  # "word", ";", "{" or "}"
    text: str
    line: int


@dataclass(frozen=True)
class Directive:
    name: str
    args: tuple[str, ...]
    block: tuple[Directive, ...] | None  # None for a simple directive
    file: str
    line: int

    def where(self) -> str:
        return f"{self.file} line {self.line}"


def _unexpected(file: str, line: int, what: str) -> ConfigError:
    return ConfigError(f"{file} line {line}: {what}")


def tokenize(text: str, file: str) -> Iterator[Token]:
    """nginx's tokens of `text`; ConfigError on an unterminated quote or a bad quote end."""
    i, n, line = 0, len(text), 1
    while i < n:
        ch = text[i]
        if ch == "\n":
            line += 1
            i += 1
        elif ch in BLANKS:
            i += 1
        elif ch == "#":
            end = text.find("\n", i)
            i = n if end < 0 else end
        elif ch in ";{}":
            yield Token(ch, ch, line)
            i += 1
        elif ch in "\"'":
            start_line, buffer = line, []
            i += 1
            while True:
                if i >= n:
                    raise _unexpected(file, start_line, "a quoted string is never closed")
                c = text[i]
                if c == "\\" and i + 1 < n:
                    following = text[i + 1]
                    buffer.append(ESCAPED.get(following, "\\" + following))
                    line += following == "\n"
                    i += 2
                    continue
                i += 1
                if c == ch:
                    break
                line += c == "\n"
                buffer.append(c)
            if i < n and text[i] not in BLANKS + ";{)":
                raise _unexpected(file, line, f"unexpected {text[i]!r} after a quoted string")
            yield Token("word", "".join(buffer), start_line)
        else:
            start_line, buffer = line, []
            while i < n:
                c = text[i]
                if c == "\\" and i + 1 < n:
                    following = text[i + 1]
                    buffer.append(ESCAPED.get(following, "\\" + following))
                    line += following == "\n"
                    i += 2
                    continue
                if c in BLANKS or c == ";" or (c == "{" and not (buffer and buffer[-1] == "$")):
                    break
                buffer.append(c)
                i += 1
            yield Token("word", "".join(buffer), start_line)


def parse(text: str, file: str) -> tuple[Directive, ...]:
    """The directives of one file's text (includes not followed); ConfigError when it is
    not nginx's syntax (unbalanced braces, a directive without `;`, blocks too deep)."""
    stack: list[tuple[list[Directive], list[Token]]] = [([], [])]  # (directives so far, the block's head)
    words: list[Token] = []
    for token in tokenize(text, file):
        if token.kind == "word":
            words.append(token)
        elif token.kind == ";":
            if not words:
                raise _unexpected(file, token.line, "unexpected ';'")
            head = words[0]
            stack[-1][0].append(Directive(head.text, tuple(w.text for w in words[1:]), None, file, head.line))
            words = []
        elif token.kind == "{":
            if not words:
                raise _unexpected(file, token.line, "unexpected '{'")
            if len(stack) > MAX_BLOCK_DEPTH:
                raise _unexpected(file, token.line, f"blocks nested more than {MAX_BLOCK_DEPTH} deep")
            stack.append(([], words))
            words = []
        else:  # "}"
            if words:
                raise _unexpected(file, words[0].line, f"directive {words[0].text!r} has no ';'")
            if len(stack) == 1:
                raise _unexpected(file, token.line, "unexpected '}'")
            inner, head_words = stack.pop()
            head = head_words[0]
            block = Directive(head.text, tuple(w.text for w in head_words[1:]), tuple(inner), file, head.line)
            stack[-1][0].append(block)
    if words:
        raise _unexpected(file, words[0].line, f"directive {words[0].text!r} has no ';' before the end of the file")
    if len(stack) > 1:
        raise _unexpected(file, stack[-1][1][0].line, f"block {stack[-1][1][0].text!r} is never closed")
    return tuple(stack[0][0])


def read_text(path: str, limit: int = MAX_FILE_BYTES) -> bytes:
    """A regular file's bytes, at most `limit` (ConfigError otherwise): opened without
    blocking and checked on the descriptor, so a FIFO or a device is refused, not read."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC | os.O_NOCTTY | os.O_NONBLOCK)
    except FileNotFoundError:
        raise ConfigError(f"{path} does not exist.") from None
    except PermissionError:
        raise ConfigError(f"{path} cannot be read by the dashboard's user (permission denied).") from None
    except OSError as error:
        raise ConfigError(f"{path} cannot be opened: {error.strerror}.") from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise ConfigError(f"{path} is not a regular file.")
        if st.st_size > limit:
            raise ConfigError(f"{path} is larger than {limit // 1024} KiB.")
        chunks, total = [], 0
        while total <= limit:
            chunk = os.read(fd, limit + 1 - total)
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
        if total > limit:
            raise ConfigError(f"{path} is larger than {limit // 1024} KiB.")
        return b"".join(chunks)
    except OSError as error:
        raise ConfigError(f"{path} cannot be read: {error.strerror}.") from None
    finally:
        os.close(fd)


def parse_file(path: str) -> tuple[Directive, ...]:
    """One file's directives (includes not followed), parsed once per change of the file."""
    try:
        st = os.stat(path)
    except OSError:
        st = None
    key = (path, st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns) if st is not None else None
    if key is not None and (kept := _parsed.get(key)) is not None:
        return kept
    text = read_text(path).decode("utf-8", "replace")
    directives = parse(text, path)
    if key is not None:
        _parsed.set(key, directives)
    return directives


class Reader:
    """Reads configuration files with their includes followed, within the bounds.

    `prefix` is the folder relative includes start from (the main file's folder).
    Problems that leave part of the configuration out (an include that does not
    exist or cannot be parsed, a bound reached) are collected in `problems`.
    """

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self.files_read = 0
        self.problems: list[str] = []

    def read(self, path: str) -> tuple[Directive, ...]:
        """The directives of `path` with its includes expanded; ConfigError when `path`
        itself cannot be read or parsed."""
        return self._read(path, ())

    def _read(self, path: str, chain: tuple[str, ...]) -> tuple[Directive, ...]:
        self.files_read += 1
        if self.files_read > MAX_FILES:
            raise ConfigError(f"{path}: more than {MAX_FILES} configuration files; the rest is not read.")
        return self._expand(parse_file(path), (*chain, path))

    def _expand(self, directives: tuple[Directive, ...], chain: tuple[str, ...]) -> tuple[Directive, ...]:
        expanded: list[Directive] = []
        for directive in directives:
            if directive.name == "include" and directive.block is None:
                expanded.extend(self._include(directive, chain))
            elif directive.block is not None:
                block = self._expand(directive.block, chain)
                expanded.append(Directive(directive.name, directive.args, block, directive.file, directive.line))
            else:
                expanded.append(directive)
        return tuple(expanded)

    def _include(self, directive: Directive, chain: tuple[str, ...]) -> list[Directive]:
        if len(directive.args) != 1:
            self.problems.append(f"{directive.where()}: include takes one file or pattern.")
            return []
        pattern = os.path.join(self.prefix, directive.args[0])  # an absolute pattern stays as it is
        if len(chain) > MAX_INCLUDE_DEPTH:
            self.problems.append(f"{directive.where()}: includes nested more than {MAX_INCLUDE_DEPTH} deep.")
            return []
        magic = glob.has_magic(pattern)
        if magic:
            closed = _closed_folder(pattern)
            if closed is not None:
                # glob skips a folder it cannot list without a word; nginx (root) reads it.
                self.problems.append(f"{directive.where()}: {closed} cannot be read by the dashboard's user.")
                return []
            try:
                # Lazily, and no more names than files may be read at all: a pattern that
                # matches half the disk costs a bounded walk, then a problem.
                paths = sorted(itertools.islice(glob.iglob(pattern), MAX_FILES + 1))
            except (OSError, ValueError, RecursionError):
                self.problems.append(f"{directive.where()}: the pattern {directive.args[0]!r} cannot be expanded.")
                return []
        else:
            paths = [pattern]
        included: list[Directive] = []
        for path in paths:
            if path in chain:
                self.problems.append(f"{directive.where()}: {path} includes itself.")
                continue
            if magic and os.path.isdir(path):
                continue  # nginx includes only files; a folder matching the pattern is skipped
            try:
                included.extend(self._read(path, chain))
            except ConfigError as error:
                self.problems.append(f"{directive.where()}: {error.detail}")
                if self.files_read > MAX_FILES:
                    break
        return included


def _closed_folder(pattern: str) -> str | None:
    """The folder a pattern lists (its part before the first wildcard), when it exists but
    this process may not list it: what it holds is then unknown, not absent."""
    first = min(index for index, character in enumerate(pattern) if character in "*?[")
    folder = os.path.dirname(pattern[:first]) or "/"
    if os.path.isdir(folder) and not os.access(folder, os.R_OK | os.X_OK):
        return folder
    return None


def in_context(directives: tuple[Directive, ...], name: str) -> list[Directive]:
    """The directives called `name` directly in this context (not in nested blocks)."""
    return [directive for directive in directives if directive.name == name]


def blocks(directives: tuple[Directive, ...], name: str) -> list[tuple[Directive, ...]]:
    """The contents of the `name { … }` blocks directly in this context."""
    return [d.block for d in directives if d.name == name and d.block is not None]
