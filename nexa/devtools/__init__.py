"""Development tools that ship with Nexa: fake providers speaking the real wire formats, used by
`nexa dev simulate`, the test suite and the benchmarks. They only ever listen on 127.0.0.1."""
