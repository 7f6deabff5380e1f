"""One command string -> words, the way a POSIX shell would split it, refusing what a shell would run.

The command never reaches a shell; refusing shell syntax keeps the caller's mental model
(``aws ... | jq``, ``$(...)``, ``> file``) from silently meaning something else, and turns
injection attempts into named denials. Supported: whitespace splitting, single quotes
(literal), double quotes (``\\"`` and ``\\\\`` escapes), adjacent parts joined into one word.
"""

from __future__ import annotations

import unicodedata

from estat_aws_mcp.awscli.denial import Denied

MAX_COMMAND_CHARS = 8192
MAX_WORDS = 256

# Outside quotes a shell treats these as operators, redirections, subshells or expansions.
_SHELL_OPERATORS = frozenset(";|&<>()$`")
_WHITESPACE = frozenset(" ")


def check_input(command: object) -> str:
    """Type, size and character checks on the raw input."""
    if not isinstance(command, str):
        raise Denied("invalid_input", "the command must be a single string, e.g. 'aws logs describe-log-groups'")
    if len(command) > MAX_COMMAND_CHARS:
        raise Denied("input_too_long", f"the command is limited to {MAX_COMMAND_CHARS} characters")
    if not command.strip():
        raise Denied("empty_command", "give a command such as 'aws logs describe-log-groups'")
    for char in command:
        category = unicodedata.category(char)
        if category == "Cc":
            raise Denied(
                "control_character",
                "control characters (newlines, tabs, escapes) are not accepted; put the command on one line",
            )
        if category in ("Cf", "Cs", "Zl", "Zp"):
            raise Denied("format_character", "invisible Unicode format characters are not accepted")
    return command


def split_command(command: object) -> list[str]:
    """Split into words; raise :class:`Denied` for anything a shell would interpret."""
    text = check_input(command)
    words: list[str] = []
    current: list[str] = []
    in_word = False
    i = 0
    n = len(text)
    while i < n:
        char = text[i]
        if char in _WHITESPACE:
            if in_word:
                words.append("".join(current))
                current, in_word = [], False
            i += 1
            continue
        if char == "'":
            end = text.find("'", i + 1)
            if end < 0:
                raise Denied("unbalanced_quotes", "a single quote is not closed")
            current.append(text[i + 1 : end])
            in_word = True
            i = end + 1
            continue
        if char == '"':
            i += 1
            while True:
                if i >= n:
                    raise Denied("unbalanced_quotes", "a double quote is not closed")
                inner = text[i]
                if inner == '"':
                    i += 1
                    break
                if inner in "$`":
                    raise Denied(
                        "shell_syntax",
                        "'$' and backticks expand inside double quotes; use single quotes for literal text",
                    )
                if inner == "\\" and i + 1 < n and text[i + 1] in '"\\':
                    current.append(text[i + 1])
                    i += 2
                    continue
                current.append(inner)
                i += 1
            in_word = True
            continue
        if char in _SHELL_OPERATORS:
            raise Denied(
                "shell_syntax",
                f"{char!r} is shell syntax (pipes, redirection, command substitution and chaining are not run); "
                "quote it if it is part of a value, and use --query to filter output",
            )
        if char == "\\":
            raise Denied("shell_syntax", "backslash escapes outside quotes are not supported; quote the value instead")
        if not in_word and char in "#~":
            raise Denied("shell_syntax", f"{char!r} at the start of a word is shell syntax (comment or home directory)")
        current.append(char)
        in_word = True
        i += 1
    if in_word:
        words.append("".join(current))
    if len(words) > MAX_WORDS:
        raise Denied("too_many_arguments", f"at most {MAX_WORDS} words")
    return words
