"""run_aws_cli: a guarded, in-process AWS CLI (awscli v1) for MCP clients.

Layers, each a wall of its own: :mod:`.lexer` (one string in, shell syntax refused),
:mod:`.validator` (awscli's own command tables, exact option names, the policy in
:mod:`.policy`), :mod:`.runner` (in-process execution with file/URL loading disabled,
timeouts, a deadline and bounded output) and :mod:`.audit` (one log line per call).
Nothing here imports awscli at module import: the MCP server must build without it.
"""
