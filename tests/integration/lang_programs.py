"""Small programs for every language spec, used by test_languages.py.

Per language:
- probe: echoes stdin verbatim to stdout, then prints "arg=<first argument>"
  and "env=<$RUNNEL_T_ENV>" on lines of their own (what probe_expected()
  returns, unless the language overrides it below);
- compile_error (compiled languages): a program the compiler must reject,
  with compile_error_text, a piece of what the compiler says about it;
- stream: prints "tick", sleeps 1.5 s (2 s in Fortran), prints "tock"; in
  compiled languages with the language's ordinary print, relying on the
  spec's line buffering (C/C++ stdio, Pascal, Haskell, Fortran);
- inline (languages whose spec has an inline template): (expression,
  expected stdout), run with inline_expression: true; where the spec has an
  import regex the expression's imports sit after other code, so they must
  be hoisted to run.
"""

STDIN = "first line of stdin\nsecond line, \u00fc and \u20ac\n"
ARG = "arg with spaces"
ENV_NAME = "RUNNEL_T_ENV"
ENV_VALUE = "env value 42"

STREAM_EXPECTED = "tick\ntock\n"


def probe_expected(lang):
    p = PROGRAMS[lang]
    if "probe_expected" in p:
        return p["probe_expected"]
    return p.get("stdin", STDIN) + f"arg={ARG}\nenv={ENV_VALUE}\n"


PROGRAMS = {
    "bash": {
        "probe": 'cat\nprintf "arg=%s\\nenv=%s\\n" "$1" "$RUNNEL_T_ENV"\n',
        "stream": "echo tick\nsleep 1.5\necho tock\n",
        "inline": ('x=6\necho "$((x * 7))"\n', "42\n"),
    },
    "sh": {
        "probe": 'cat\nprintf "arg=%s\\nenv=%s\\n" "$1" "$RUNNEL_T_ENV"\n',
        "stream": "echo tick\nsleep 1.5\necho tock\n",
        "inline": ('x=6\necho "$((x * 7))"\n', "42\n"),
    },
    "python3": {
        "probe": ("import os, sys\n"
                  "sys.stdout.write(sys.stdin.read())\n"
                  "print('arg=' + sys.argv[1])\n"
                  "print('env=' + os.environ['RUNNEL_T_ENV'])\n"),
        "stream": "import time\nprint('tick')\ntime.sleep(1.5)\nprint('tock')\n",
        "inline": ("print(6 * 7)\n", "42\n"),
    },
    "javascript": {
        "probe": ("const fs = require('fs');\n"
                  "process.stdout.write(fs.readFileSync(0, 'utf8'));\n"
                  "console.log('arg=' + process.argv[2]);\n"
                  "console.log('env=' + process.env.RUNNEL_T_ENV);\n"),
        "stream": "console.log('tick');\nsetTimeout(() => console.log('tock'), 1500);\n",
        "inline": ("console.log(6 * 7);\n", "42\n"),
    },
    "typescript": {
        "stream": "console.log('tick');\nsetTimeout(() => console.log('tock'), 1500);\n",
        "probe": ("const fs = require('fs');\n"
                  "const input: string = fs.readFileSync(0, 'utf8');\n"
                  "process.stdout.write(input);\n"
                  "const args: string[] = process.argv.slice(2);\n"
                  "console.log('arg=' + args[0]);\n"
                  "console.log('env=' + process.env.RUNNEL_T_ENV);\n"),
        "compile_error": "const n: number = 'not a number';\nconsole.log(n);\n",
        "compile_error_text": "TS2322",
        "inline": ("const n: number = 6 * 7;\nconsole.log(n);\n", "42\n"),
    },
    "c": {
        "stream": "#include <stdio.h>\n#include <unistd.h>\n\nint main(void) {\n    printf(\"tick\\n\");\n    usleep(1500000);\n    printf(\"tock\\n\");\n    return 0;\n}\n",
        "probe": ("#include <stdio.h>\n#include <stdlib.h>\n\n"
                  "int main(int argc, char **argv) {\n"
                  "    char buf[4096];\n    size_t n;\n"
                  "    while ((n = fread(buf, 1, sizeof buf, stdin)) > 0)\n"
                  "        fwrite(buf, 1, n, stdout);\n"
                  "    const char *e = getenv(\"RUNNEL_T_ENV\");\n"
                  "    printf(\"arg=%s\\nenv=%s\\n\", argc > 1 ? argv[1] : \"(none)\", e ? e : \"(none)\");\n"
                  "    return 0;\n}\n"),
        "compile_error": "int main(void) {\n    return undefined_thing;\n}\n",
        "compile_error_text": "undefined_thing",
        "inline": ('printf("%d\\n", (int)sqrt(argc > 0 ? 1764.0 : 0.0));\n'
                   "#include <math.h>\n", "42\n"),
    },
    "cpp": {
        "stream": "#include <chrono>\n#include <iostream>\n#include <thread>\n\nint main() {\n    std::cout << \"tick\\n\";\n    std::this_thread::sleep_for(std::chrono::milliseconds(1500));\n    std::cout << \"tock\\n\";\n}\n",
        "probe": ("#include <cstdlib>\n#include <iostream>\n#include <iterator>\n#include <string>\n\n"
                  "int main(int argc, char **argv) {\n"
                  "    std::string in((std::istreambuf_iterator<char>(std::cin)), std::istreambuf_iterator<char>());\n"
                  "    std::cout << in;\n"
                  "    const char *e = std::getenv(\"RUNNEL_T_ENV\");\n"
                  "    std::cout << \"arg=\" << (argc > 1 ? argv[1] : \"(none)\") << \"\\n\";\n"
                  "    std::cout << \"env=\" << (e ? e : \"(none)\") << std::endl;\n}\n"),
        "compile_error": "int main() {\n    std::string s = 1;\n}\n",
        "compile_error_text": "error",
        "inline": ("#include <vector>\nstd::vector<int> v{6, 7};\n"
                   "#include <iostream>\nstd::cout << v[0] * v[1] << std::endl;\n", "42\n"),
    },
    "go": {
        "stream": "package main\n\nimport (\n\t\"fmt\"\n\t\"time\"\n)\n\nfunc main() {\n\tfmt.Println(\"tick\")\n\ttime.Sleep(1500 * time.Millisecond)\n\tfmt.Println(\"tock\")\n}\n",
        "probe": ("package main\n\nimport (\n\t\"fmt\"\n\t\"io\"\n\t\"os\"\n)\n\n"
                  "func main() {\n"
                  "\tb, _ := io.ReadAll(os.Stdin)\n"
                  "\tos.Stdout.Write(b)\n"
                  "\tfmt.Printf(\"arg=%s\\nenv=%s\\n\", os.Args[1], os.Getenv(\"RUNNEL_T_ENV\"))\n}\n"),
        "compile_error": "package main\n\nfunc main() {\n\tunused := 1\n}\n",
        "compile_error_text": "declared but not used",
        "inline": ('import "fmt"\nx := 6\nimport "strings"\n'
                   'fmt.Println(strings.Repeat("ab", 2), x*7)\n', "abab 42\n"),
    },
    "rust": {
        "stream": "fn main() {\n    println!(\"tick\");\n    std::thread::sleep(std::time::Duration::from_millis(1500));\n    println!(\"tock\");\n}\n",
        "probe": ("use std::io::Read;\n\n"
                  "fn main() {\n"
                  "    let mut s = String::new();\n"
                  "    std::io::stdin().read_to_string(&mut s).unwrap();\n"
                  "    print!(\"{}\", s);\n"
                  "    let args: Vec<String> = std::env::args().collect();\n"
                  "    println!(\"arg={}\", args[1]);\n"
                  "    println!(\"env={}\", std::env::var(\"RUNNEL_T_ENV\").unwrap());\n}\n"),
        "compile_error": "fn main() {\n    let n: i32 = \"text\";\n    println!(\"{}\", n);\n}\n",
        "compile_error_text": "mismatched types",
        "inline": ("let mut m = HashMap::new();\nuse std::collections::HashMap;\n"
                   "m.insert(\"k\", 6 * 7);\nprintln!(\"{}\", m[\"k\"]);\n", "42\n"),
    },
    "java": {
        "stream": "public class Main {\n    public static void main(String[] args) throws Exception {\n        System.out.println(\"tick\");\n        Thread.sleep(1500);\n        System.out.println(\"tock\");\n    }\n}\n",
        "probe": ("public class Main {\n"
                  "    public static void main(String[] args) throws Exception {\n"
                  "        byte[] in = System.in.readAllBytes();\n"
                  "        System.out.write(in);\n"
                  "        System.out.println(\"arg=\" + args[0]);\n"
                  "        System.out.println(\"env=\" + System.getenv(\"RUNNEL_T_ENV\"));\n"
                  "    }\n}\n"),
        "compile_error": ("public class Main {\n"
                          "    public static void main(String[] args) {\n"
                          "        int n = \"text\";\n    }\n}\n"),
        "compile_error_text": "incompatible types",
        "inline": ('System.out.print("x=");\nimport java.util.List;\n'
                   "System.out.println(List.of(6, 7).stream().reduce(1, (a, b) -> a * b));\n",
                   "x=42\n"),
    },
    "kotlin": {
        "stream": "fun main() {\n    println(\"tick\")\n    Thread.sleep(1500)\n    println(\"tock\")\n}\n",
        "probe": ("fun main(args: Array<String>) {\n"
                  "    val input = System.`in`.readBytes()\n"
                  "    System.out.write(input)\n"
                  "    System.out.flush()\n"
                  "    println(\"arg=\" + args[0])\n"
                  "    println(\"env=\" + System.getenv(\"RUNNEL_T_ENV\"))\n}\n"),
        "compile_error": "fun main() {\n    val n: Int = \"text\"\n    println(n)\n}\n",
        "compile_error_text": "type mismatch",
        "inline": ("print(\"x=\")\nimport kotlin.math.sqrt\nprintln(sqrt(1764.0).toInt())\n",
                   "x=42\n"),
    },
    "csharp": {
        "stream": "using System;\nusing System.Threading;\n\nclass Program\n{\n    static void Main()\n    {\n        Console.WriteLine(\"tick\");\n        Thread.Sleep(1500);\n        Console.WriteLine(\"tock\");\n    }\n}\n",
        "probe": ("using System;\nusing System.IO;\n\n"
                  "class Program\n{\n"
                  "    static void Main(string[] args)\n    {\n"
                  "        var stdout = Console.OpenStandardOutput();\n"
                  "        Console.OpenStandardInput().CopyTo(stdout);\n"
                  "        stdout.Flush();\n"
                  "        Console.WriteLine(\"arg=\" + args[0]);\n"
                  "        Console.WriteLine(\"env=\" + Environment.GetEnvironmentVariable(\"RUNNEL_T_ENV\"));\n"
                  "    }\n}\n"),
        "compile_error": "class Program\n{\n    static void Main()\n    {\n        int n = \"text\";\n    }\n}\n",
        "compile_error_text": "CS0029",
        "inline": ("using System;\nConsole.Write(\"x=\");\nusing System.Linq;\n"
                   "Console.WriteLine(Enumerable.Range(6, 2).Aggregate(1, (a, b) => a * b));\n",
                   "x=42\n"),
    },
    "fortran": {
        "stream": "program stream\n  implicit none\n  print '(A)', 'tick'\n  call sleep(2)\n  print '(A)', 'tock'\nend program stream\n",
        "probe": ("program probe\n"
                  "  implicit none\n"
                  "  character(len=4096) :: line, arg, env\n"
                  "  integer :: ios\n"
                  "  do\n"
                  "    read (*, '(A)', iostat=ios) line\n"
                  "    if (ios /= 0) exit\n"
                  "    print '(A)', trim(line)\n"
                  "  end do\n"
                  "  call get_command_argument(1, arg)\n"
                  "  call get_environment_variable('RUNNEL_T_ENV', env)\n"
                  "  print '(A)', 'arg=' // trim(arg)\n"
                  "  print '(A)', 'env=' // trim(env)\n"
                  "end program probe\n"),
        "compile_error": "program broken\n  implicit none\n  x = 1\nend program broken\n",
        "compile_error_text": "Error",
        "inline": ("integer(int32) :: x\nuse iso_fortran_env, only: int32\n"
                   "x = 6 * 7\nprint '(I0)', x\n", "42\n"),
    },
    "pascal": {
        "stream": "program Stream;\nuses SysUtils;\nbegin\n  WriteLn('tick');\n  Sleep(1500);\n  WriteLn('tock');\nend.\n",
        "probe": ("program Probe;\nuses SysUtils;\nvar\n  line: AnsiString;\n"
                  "begin\n"
                  "  while not Eof(Input) do begin\n"
                  "    ReadLn(line);\n"
                  "    WriteLn(line);\n"
                  "  end;\n"
                  "  WriteLn('arg=', ParamStr(1));\n"
                  "  WriteLn('env=', GetEnvironmentVariable('RUNNEL_T_ENV'));\n"
                  "end.\n"),
        "compile_error": "program Broken;\nbegin\n  UndefinedThing := 1;\nend.\n",
        "compile_error_text": "UndefinedThing",
        "inline": ("WriteLn(IntToStr(6 * 7));\nuses SysUtils;\n", "42\n"),
    },
    "haskell": {
        "stream": "import Control.Concurrent (threadDelay)\n\nmain :: IO ()\nmain = do\n  putStrLn \"tick\"\n  threadDelay 1500000\n  putStrLn \"tock\"\n",
        "probe": ("import System.Environment (getArgs, lookupEnv)\n\n"
                  "main :: IO ()\n"
                  "main = do\n"
                  "  s <- getContents\n"
                  "  putStr s\n"
                  "  args <- getArgs\n"
                  "  putStrLn (\"arg=\" ++ head args)\n"
                  "  e <- lookupEnv \"RUNNEL_T_ENV\"\n"
                  "  putStrLn (\"env=\" ++ maybe \"(none)\" id e)\n"),
        "compile_error": "main :: IO ()\nmain = putStrLn undefinedThing\n",
        "compile_error_text": "undefinedThing",
    },
    "elixir": {
        "probe": ("IO.write(IO.read(:stdio, :eof))\n"
                  "[arg | _] = System.argv()\n"
                  "IO.puts(\"arg=\" <> arg)\n"
                  "IO.puts(\"env=\" <> System.get_env(\"RUNNEL_T_ENV\"))\n"),
        "stream": "IO.puts(\"tick\")\nProcess.sleep(1500)\nIO.puts(\"tock\")\n",
        "inline": ("IO.puts(6 * 7)\n", "42\n"),
    },
    "lua": {
        "probe": ("io.write(io.read(\"a\"))\n"
                  "print(\"arg=\" .. arg[1])\n"
                  "print(\"env=\" .. os.getenv(\"RUNNEL_T_ENV\"))\n"),
        "stream": "print(\"tick\")\nos.execute(\"sleep 1.5\")\nprint(\"tock\")\n",
        "inline": ("print(6 * 7)\n", "42\n"),
    },
    "ocaml": {
        "probe": ("let () =\n"
                  "  (try\n"
                  "     while true do print_endline (input_line stdin) done\n"
                  "   with End_of_file -> ());\n"
                  "  print_endline (\"arg=\" ^ Sys.argv.(1));\n"
                  "  print_endline (\"env=\" ^ Sys.getenv \"RUNNEL_T_ENV\")\n"),
        "stream": ("#load \"unix.cma\";;\n"
                   "let () =\n  print_endline \"tick\";\n  Unix.sleepf 1.5;\n  print_endline \"tock\"\n"),
        "inline": ("print_endline (string_of_int (6 * 7))\n", "42\n"),
    },
    "perl": {
        "probe": ("local $/;\nmy $in = <STDIN>;\nprint $in;\n"
                  "print \"arg=$ARGV[0]\\n\";\nprint \"env=$ENV{RUNNEL_T_ENV}\\n\";\n"),
        "stream": "print \"tick\\n\";\nselect(undef, undef, undef, 1.5);\nprint \"tock\\n\";\n",
        "inline": ("print 6 * 7, \"\\n\";\n", "42\n"),
    },
    "php": {
        "probe": ("<?php\n"
                  "echo file_get_contents('php://stdin');\n"
                  "echo 'arg=' . $argv[1] . \"\\n\";\n"
                  "echo 'env=' . getenv('RUNNEL_T_ENV') . \"\\n\";\n"),
        "stream": "<?php\necho \"tick\\n\";\nusleep(1500000);\necho \"tock\\n\";\n",
        "inline": ("echo 6 * 7, \"\\n\";\n", "42\n"),
    },
    "r": {
        "probe": ("x <- readLines(file(\"stdin\"))\n"
                  "cat(paste0(x, \"\\n\"), sep = \"\")\n"
                  "a <- commandArgs(trailingOnly = TRUE)\n"
                  "cat(\"arg=\", a[1], \"\\n\", sep = \"\")\n"
                  "cat(\"env=\", Sys.getenv(\"RUNNEL_T_ENV\"), \"\\n\", sep = \"\")\n"),
        "stream": "cat(\"tick\\n\")\nSys.sleep(1.5)\ncat(\"tock\\n\")\n",
        "inline": ("cat(6 * 7, \"\\n\", sep = \"\")\n", "42\n"),
    },
    "octave": {
        "probe": ("s = fread(stdin, Inf, 'char=>char')';\n"
                  "printf(\"%s\", s);\n"
                  "a = argv();\n"
                  "printf(\"arg=%s\\n\", a{end});\n"
                  "printf(\"env=%s\\n\", getenv(\"RUNNEL_T_ENV\"));\n"),
        "stream": "disp(\"tick\")\npause(1.5)\ndisp(\"tock\")\n",
        "inline": ("printf(\"%d\\n\", 6 * 7);\n", "42\n"),
    },
    "ruby": {
        "probe": ("$stdout.write($stdin.read)\n"
                  "puts \"arg=#{ARGV[0]}\"\n"
                  "puts \"env=#{ENV['RUNNEL_T_ENV']}\"\n"),
        "stream": "puts 'tick'\nsleep 1.5\nputs 'tock'\n",
        "inline": ("puts 6 * 7\n", "42\n"),
    },
    "tcl": {
        "probe": ("puts -nonewline [read stdin]\n"
                  "puts \"arg=[lindex $argv 0]\"\n"
                  "puts \"env=$env(RUNNEL_T_ENV)\"\n"),
        "stream": "puts tick\nafter 1500\nputs tock\n",
        "inline": ("puts [expr {6 * 7}]\n", "42\n"),
    },
    "sqlite": {
        # stdin is read through a pipe from cat: the sandbox's stdin pipe
        # cannot be reopened by path (/dev/stdin, /proc/self/fd/0 are
        # EACCES for the run's uid). sqlite3 has no argv: the spec passes
        # no {args}, so only the environment is checked (through .shell).
        "probe": ("CREATE TABLE input(line TEXT);\n"
                  ".import \"|cat\" input\n"
                  "SELECT line FROM input ORDER BY rowid;\n"
                  ".shell echo env=$RUNNEL_T_ENV\n"),
        "probe_expected": STDIN + f"env={ENV_VALUE}\n",
        "no_args": "sqlite3 has no program arguments (the spec passes none)",
        "stream": "SELECT 'tick';\n.shell sleep 1.5\nSELECT 'tock';\n",
        "inline": ("SELECT 6 * 7;\n", "42\n"),
    },
    "brainfuck": {
        # beef writes bytes that are not valid UTF-8 as "[Invalid UTF-8] \xNN"
        # (its own output layer, outside the sandbox too): ASCII stdin.
        "stdin": "first line of stdin\nsecond line\n",
        "probe": ",[.,]\n",
        "probe_expected": "first line of stdin\nsecond line\n",
        "no_args": "brainfuck programs see neither arguments nor the environment",
        "no_env": "brainfuck programs see neither arguments nor the environment",
        # Brainfuck cannot sleep: the program prints "tick", then waits for
        # a byte on stdin (interactive run; the test sends it 1.5 s after
        # the first LOG), prints it and a newline.
        "stream_interactive": True,
        "stream": "++++++++[>++++++++<-]>+.>++++++++++.<,.>.\n",
        "stream_input": "B",
        "stream_expected": "A\nB\n",
        "stream_first": "A\n",
        "inline": ("++++++++[>++++++++<-]>+.>++++++++++.\n", "A\n"),
    },
}

# ---- languages added with the Debian 12 set (generated layout, edited by hand) ----

PROGRAMS.update({
    'ada': {   'probe': 'with Ada.Text_IO; use Ada.Text_IO;\n'
                 'with Ada.Command_Line; use Ada.Command_Line;\n'
                 'with Ada.Environment_Variables;\n'
                 '\n'
                 'procedure Main is\n'
                 'begin\n'
                 '   while not End_Of_File loop\n'
                 '      Put_Line (Get_Line);\n'
                 '   end loop;\n'
                 '   Put_Line ("arg=" & Argument (1));\n'
                 '   Put_Line ("env=" & Ada.Environment_Variables.Value ("RUNNEL_T_ENV"));\n'
                 'end Main;\n',
        'stream': 'with Ada.Text_IO; use Ada.Text_IO;\n'
                  '\n'
                  'procedure Main is\n'
                  'begin\n'
                  '   Put_Line ("tick");\n'
                  '   Flush;\n'
                  '   delay 1.5;\n'
                  '   Put_Line ("tock");\n'
                  'end Main;\n',
        'compile_error': 'procedure Main is\nbegin\n   X := 1;\nend Main;\n',
        'compile_error_text': '"X" is undefined'},
    'algol68': {   'probe': 'BEGIN\n'
                 '  on logical file end(stand in, (REF FILE f) BOOL: GOTO done);\n'
                 '  DO STRING line; read((line, new line)); print((line, new line)) OD;\n'
                 'done:\n'
                 '  print(("arg=", argv(4), new line));\n'
                 '  print(("env=", getenv("RUNNEL_T_ENV"), new line))\n'
                 'END\n',
        'stream': 'print(("tick", new line));\nIF sleep(2) >= 0 THEN print(("tock", new line)) FI\n'},
    'ash': {   'probe': 'cat\nprintf "arg=%s\\nenv=%s\\n" "$1" "$RUNNEL_T_ENV"\n',
        'stream': 'echo tick\nsleep 1.5\necho tock\n',
        'inline': ('x=6\necho "$((x * 7))"\n', '42\n')},
    'bc': {   'probe': 'x = read()\nprint x, "\\n"\ny = read()\nprint y, "\\n"\nquit\n',
        'stdin': '6\n7\n',
        'probe_expected': '6\n7\n',
        'no_args': 'bc takes files, not arguments',
        'no_env': 'bc cannot read the environment',
        'no_stream': 'bc has no way to pause'},
    'chezscheme': {   'probe': '(let loop ((c (read-char)))\n'
                 '  (unless (eof-object? c) (write-char c) (loop (read-char))))\n'
                 '(display (string-append "arg=" (cadr (command-line)) "\\n"))\n'
                 '(display (string-append "env=" (getenv "RUNNEL_T_ENV") "\\n"))\n',
        'stream': '(display "tick\\n")\n'
                  '(flush-output-port (current-output-port))\n'
                  "(sleep (make-time 'time-duration 500000000 1))\n"
                  '(display "tock\\n")\n'},
    'chicken': {   'probe': '(import (chicken io) (chicken process-context))\n'
                 '(let loop ((l (read-line)))\n'
                 '  (unless (eof-object? l) (display l) (newline) (loop (read-line))))\n'
                 '(display (string-append "arg=" (car (command-line-arguments)) "\\n"))\n'
                 '(display (string-append "env=" (get-environment-variable "RUNNEL_T_ENV") "\\n"))\n',
        'stream': '(import (chicken base) (chicken process))\n'
                  '(display "tick\\n")\n'
                  '(flush-output)\n'
                  '(let-values (((pid ok status) (process-wait (process-run "sleep 1.5")))) pid)\n'
                  '(display "tock\\n")\n',
        'compile_error': '(display "unclosed"\n',
        'compile_error_text': 'unterminated list'},
    'clang': {   'probe': '#include <stdio.h>\n'
                 '#include <stdlib.h>\n'
                 '\n'
                 'int main(int argc, char **argv) {\n'
                 '    char buf[4096];\n'
                 '    size_t n;\n'
                 '    while ((n = fread(buf, 1, sizeof buf, stdin)) > 0)\n'
                 '        fwrite(buf, 1, n, stdout);\n'
                 '    const char *e = getenv("RUNNEL_T_ENV");\n'
                 '    printf("arg=%s\\nenv=%s\\n", argc > 1 ? argv[1] : "(none)", e ? e : "(none)");\n'
                 '    return 0;\n'
                 '}\n',
        'stream': '#include <stdio.h>\n'
                  '#include <unistd.h>\n'
                  '\n'
                  'int main(void) {\n'
                  '    printf("tick\\n");\n'
                  '    usleep(1500000);\n'
                  '    printf("tock\\n");\n'
                  '    return 0;\n'
                  '}\n',
        'compile_error': 'int main(void) { return undefined_name; }\n',
        'compile_error_text': 'undeclared identifier'},
    'clang-cpp': {   'probe': '#include <cstdlib>\n'
                 '#include <iostream>\n'
                 '#include <string>\n'
                 '\n'
                 'int main(int argc, char **argv) {\n'
                 '    std::string line;\n'
                 "    while (std::getline(std::cin, line)) std::cout << line << '\\n';\n"
                 '    const char *e = std::getenv("RUNNEL_T_ENV");\n'
                 '    std::cout << "arg=" << (argc > 1 ? argv[1] : "") << "\\nenv=" << (e ? e : "") << '
                 'std::endl;\n'
                 '}\n',
        'stream': '#include <chrono>\n'
                  '#include <iostream>\n'
                  '#include <thread>\n'
                  '\n'
                  'int main() {\n'
                  '    std::cout << "tick" << std::endl;\n'
                  '    std::this_thread::sleep_for(std::chrono::milliseconds(1500));\n'
                  '    std::cout << "tock" << std::endl;\n'
                  '}\n',
        'compile_error': 'int main() { return undefined_name; }\n',
        'compile_error_text': 'undeclared identifier'},
    'clisp': {   'probe': '(loop for line = (read-line *standard-input* nil) while line do (write-line line))\n'
                 '(format t "arg=~a~%" (first ext:*args*))\n'
                 '(format t "env=~a~%" (ext:getenv "RUNNEL_T_ENV"))\n',
        'stream': '(write-line "tick")\n(finish-output)\n(sleep 1.5)\n(write-line "tock")\n'},
    'clojure': {   'probe': '(print (slurp *in*))\n'
                 '(println (str "arg=" (first *command-line-args*)))\n'
                 '(println (str "env=" (System/getenv "RUNNEL_T_ENV")))\n'
                 '(flush)\n',
        'stream': '(println "tick")\n(flush)\n(Thread/sleep 1500)\n(println "tock")\n'},
    'cobol': {   'probe': 'IDENTIFICATION DIVISION.\n'
                 'PROGRAM-ID. MAIN.\n'
                 'DATA DIVISION.\n'
                 'WORKING-STORAGE SECTION.\n'
                 '01 WS-LINE PIC X(200).\n'
                 '01 WS-EOF PIC X VALUE "N".\n'
                 '01 WS-ARG PIC X(100).\n'
                 '01 WS-ENV PIC X(100).\n'
                 'PROCEDURE DIVISION.\n'
                 '    PERFORM UNTIL WS-EOF = "Y"\n'
                 '        ACCEPT WS-LINE\n'
                 '            ON EXCEPTION MOVE "Y" TO WS-EOF\n'
                 '            NOT ON EXCEPTION DISPLAY FUNCTION TRIM(WS-LINE TRAILING)\n'
                 '        END-ACCEPT\n'
                 '    END-PERFORM\n'
                 '    ACCEPT WS-ARG FROM ARGUMENT-VALUE\n'
                 '    DISPLAY "arg=" FUNCTION TRIM(WS-ARG TRAILING)\n'
                 '    ACCEPT WS-ENV FROM ENVIRONMENT "RUNNEL_T_ENV"\n'
                 '    DISPLAY "env=" FUNCTION TRIM(WS-ENV TRAILING)\n'
                 '    STOP RUN.\n',
        'stream': 'IDENTIFICATION DIVISION.\n'
                  'PROGRAM-ID. MAIN.\n'
                  'PROCEDURE DIVISION.\n'
                  '    DISPLAY "tick"\n'
                  '    CALL "C$SLEEP" USING 1.5\n'
                  '    DISPLAY "tock"\n'
                  '    STOP RUN.\n',
        'compile_error': 'IDENTIFICATION DIVISION.\n'
                         'PROGRAM-ID. MAIN.\n'
                         'PROCEDURE DIVISION.\n'
                         '    MOVE 1 TO NOWHERE.\n',
        'compile_error_text': 'NOWHERE'},
    'coffeescript': {   'probe': "fs = require 'fs'\n"
                 "process.stdout.write fs.readFileSync(0, 'utf8')\n"
                 "console.log 'arg=' + process.argv[2]\n"
                 "console.log 'env=' + process.env.RUNNEL_T_ENV\n",
        'stream': "console.log 'tick'\nsetTimeout (-> console.log 'tock'), 1500\n"},
    'commonlisp': {   'probe': '(loop for line = (read-line *standard-input* nil) while line do (write-line line))\n'
                 '(format t "arg=~a~%" (second sb-ext:*posix-argv*))\n'
                 '(format t "env=~a~%" (sb-ext:posix-getenv "RUNNEL_T_ENV"))\n',
        'stream': '(write-line "tick")\n(finish-output)\n(sleep 1.5)\n(write-line "tock")\n'},
    'crystal': {   'probe': 'print STDIN.gets_to_end\nputs "arg=#{ARGV[0]}"\nputs "env=#{ENV["RUNNEL_T_ENV"]}"\n',
        'stream': 'puts "tick"\nSTDOUT.flush\nsleep 1.5\nputs "tock"\n',
        'compile_error': 'x : Int32 = "no"\n',
        'compile_error_text': 'Error'},
    'd': {   'probe': 'import std.stdio, std.process;\n'
                 '\n'
                 'void main(string[] args) {\n'
                 '    foreach (line; stdin.byLine(KeepTerminator.yes)) write(line);\n'
                 '    writeln("arg=", args[1]);\n'
                 '    writeln("env=", environment.get("RUNNEL_T_ENV", ""));\n'
                 '}\n',
        'stream': 'import std.stdio, core.thread;\n'
                  '\n'
                  'void main() {\n'
                  '    writeln("tick");\n'
                  '    stdout.flush();\n'
                  '    Thread.sleep(dur!"msecs"(1500));\n'
                  '    writeln("tock");\n'
                  '}\n',
        'compile_error': 'void main() { int x = "no"; }\n',
        'compile_error_text': 'cannot implicitly convert'},
    'dc': {   'probe': '?p\n?p\n',
        'stdin': '6\n7\n',
        'probe_expected': '6\n7\n',
        'no_args': 'dc takes files, not arguments',
        'no_env': 'dc cannot read the environment',
        'no_stream': 'dc has no way to pause'},
    'emacs-lisp': {   'probe': '(let (line) (while (setq line (ignore-errors (read-from-minibuffer ""))) (princ '
                 '(concat line "\\n"))))\n'
                 '(princ (format "arg=%s\\n" (car command-line-args-left)))\n'
                 '(princ (format "env=%s\\n" (getenv "RUNNEL_T_ENV")))\n'
                 '(setq command-line-args-left nil)\n',
        'stream': '(princ "tick\\n")\n(sleep-for 1.5)\n(princ "tock\\n")\n'},
    'erlang': {   'probe': 'main([Arg | _]) ->\n'
                 '    copy(),\n'
                 '    io:format("arg=~ts~n", [Arg]),\n'
                 '    io:format("env=~ts~n", [os:getenv("RUNNEL_T_ENV")]).\n'
                 '\n'
                 'copy() ->\n'
                 '    case io:get_line("") of\n'
                 '        eof -> ok;\n'
                 '        Line -> io:put_chars(Line), copy()\n'
                 '    end.\n',
        'stream': 'main(_) ->\n'
                  '    io:format("tick~n"),\n'
                  '    timer:sleep(1500),\n'
                  '    io:format("tock~n").\n'},
    'fish': {   'probe': 'cat\nprintf "arg=%s\\nenv=%s\\n" $argv[1] $RUNNEL_T_ENV\n',
        'stream': 'echo tick\nsleep 1.5\necho tock\n'},
    'forth': {   'probe': 'create buf 4096 allot\n'
                 ': copy begin buf 4096 stdin read-file throw dup while buf swap type repeat drop ;\n'
                 'copy\n'
                 '.( arg=) next-arg type cr\n'
                 '.( env=) s" RUNNEL_T_ENV" getenv type cr\n'
                 'bye\n',
        'stream': '.( tick) cr\noutfile-id flush-file throw\n1500 ms\n.( tock) cr\nbye\n'},
    'gawk': {   'probe': 'BEGIN { arg = ARGV[1]; ARGV[1] = "" }\n'
                 '{ print; fflush() }\n'
                 'END { printf "arg=%s\\nenv=%s\\n", arg, ENVIRON["RUNNEL_T_ENV"] }\n',
        'stream': 'BEGIN { print "tick"; fflush(); system("sleep 1.5"); print "tock" }\n'},
    'gnuplot': {   'probe': 'set print "-"\n'
                 'system("cat")\n'
                 'print "arg=".ARG1\n'
                 'print "env=".system("printf %s \\"$RUNNEL_T_ENV\\"")\n',
        'stream': 'set print "-"\nprint "tick"\npause 1.5\nprint "tock"\n'},
    'gprolog': {   'probe': ':- initialization(main).\n'
                 'copy :- get_char(C), ( C == end_of_file -> true ; put_char(C), copy ).\n'
                 "main :- copy, argument_value(1, A), write('arg='), write(A), nl, "
                 "environ('RUNNEL_T_ENV', E), write('env='), write(E), nl.\n",
        'stream': ':- initialization(main).\n'
                  'main :- write(tick), nl, flush_output, sleep(1.5), write(tock), nl.\n',
        'compile_error': 'main :- write(.\n',
        'compile_error_text': 'syntax error'},
    'groovy': {   'probe': 'print System.in.text\n'
                 'println "arg=" + args[0]\n'
                 'println "env=" + System.getenv("RUNNEL_T_ENV")\n',
        'stream': 'println "tick"\nSystem.out.flush()\nThread.sleep(1500)\nprintln "tock"\n'},
    'guile': {   'probe': '(use-modules (ice-9 rdelim))\n'
                 '(let loop ((line (read-line)))\n'
                 '  (unless (eof-object? line)\n'
                 '    (display line) (newline) (loop (read-line))))\n'
                 '(display (string-append "arg=" (cadr (command-line)) "\\n"))\n'
                 '(display (string-append "env=" (getenv "RUNNEL_T_ENV") "\\n"))\n',
        'stream': '(display "tick\\n")\n(force-output)\n(usleep 1500000)\n(display "tock\\n")\n'},
    'haxe': {   'probe': 'class Main {\n'
                 '  static function main() {\n'
                 '    Sys.print(Sys.stdin().readAll().toString());\n'
                 '    Sys.println("arg=" + Sys.args()[0]);\n'
                 '    Sys.println("env=" + Sys.getEnv("RUNNEL_T_ENV"));\n'
                 '  }\n'
                 '}\n',
        'stream': 'class Main {\n'
                  '  static function main() {\n'
                  '    Sys.println("tick");\n'
                  '    Sys.sleep(1.5);\n'
                  '    Sys.println("tock");\n'
                  '  }\n'
                  '}\n'},
    'jimtcl': {   'probe': 'puts -nonewline [read stdin]\n'
                 'puts "arg=[lindex $argv 0]"\n'
                 'puts "env=$env(RUNNEL_T_ENV)"\n',
        'stream': 'puts tick\nstdout flush\nsleep 1.5\nputs tock\n'},
    'jq': {   'probe': 'inputs, "arg=\\($ARGS.positional[0])", "env=\\($ENV.RUNNEL_T_ENV)"\n',
        'stdin': '"first line of stdin"\n"second line, ü and €"\n',
        'probe_expected': 'first line of stdin\n'
                          'second line, ü and €\n'
                          'arg=arg with spaces\n'
                          'env=env value 42\n',
        'stdin_echo': 'first line of stdin\nsecond line, ü and €\n',
        'no_stream': 'jq has no way to pause'},
    'ksh': {   'probe': 'cat\nprintf "arg=%s\\nenv=%s\\n" "$1" "$RUNNEL_T_ENV"\n',
        'stream': 'echo tick\nsleep 1.5\necho tock\n',
        'inline': ('x=6\necho "$((x * 7))"\n', '42\n')},
    'llvm-ir': {   'probe': '@key = private constant [13 x i8] c"RUNNEL_T_ENV\\00"\n'
                 '@fa = private constant [8 x i8] c"arg=%s\\0A\\00"\n'
                 '@fe = private constant [8 x i8] c"env=%s\\0A\\00"\n'
                 '\n'
                 'declare i32 @getchar()\n'
                 'declare i32 @putchar(i32)\n'
                 'declare i32 @printf(i8*, ...)\n'
                 'declare i8* @getenv(i8*)\n'
                 '\n'
                 'define i32 @main(i32 %argc, i8** %argv) {\n'
                 'entry:\n'
                 '  br label %loop\n'
                 'loop:\n'
                 '  %c = call i32 @getchar()\n'
                 '  %eof = icmp eq i32 %c, -1\n'
                 '  br i1 %eof, label %done, label %put\n'
                 'put:\n'
                 '  %p = call i32 @putchar(i32 %c)\n'
                 '  br label %loop\n'
                 'done:\n'
                 '  %a1p = getelementptr i8*, i8** %argv, i64 1\n'
                 '  %a1 = load i8*, i8** %a1p\n'
                 '  %fap = getelementptr [8 x i8], [8 x i8]* @fa, i64 0, i64 0\n'
                 '  %r1 = call i32 (i8*, ...) @printf(i8* %fap, i8* %a1)\n'
                 '  %kp = getelementptr [13 x i8], [13 x i8]* @key, i64 0, i64 0\n'
                 '  %e = call i8* @getenv(i8* %kp)\n'
                 '  %fep = getelementptr [8 x i8], [8 x i8]* @fe, i64 0, i64 0\n'
                 '  %r2 = call i32 (i8*, ...) @printf(i8* %fep, i8* %e)\n'
                 '  ret i32 0\n'
                 '}\n',
        'stream': '@t1 = private constant [5 x i8] c"tick\\00"\n'
                  '@t2 = private constant [5 x i8] c"tock\\00"\n'
                  '\n'
                  'declare i32 @puts(i8*)\n'
                  'declare i32 @usleep(i32)\n'
                  'declare i32 @fflush(i8*)\n'
                  '\n'
                  'define i32 @main() {\n'
                  '  %p1 = getelementptr [5 x i8], [5 x i8]* @t1, i64 0, i64 0\n'
                  '  %a = call i32 @puts(i8* %p1)\n'
                  '  %f = call i32 @fflush(i8* null)\n'
                  '  %s = call i32 @usleep(i32 1500000)\n'
                  '  %p2 = getelementptr [5 x i8], [5 x i8]* @t2, i64 0, i64 0\n'
                  '  %b = call i32 @puts(i8* %p2)\n'
                  '  ret i32 0\n'
                  '}\n',
        'compile_error': 'define i32 @main() {\n  ret i32 %undefined\n}\n',
        'compile_error_text': 'use of undefined value'},
    'lua5.1': {   'probe': 'io.write(io.read("*a"))\n'
                 'print("arg=" .. arg[1])\n'
                 'print("env=" .. os.getenv("RUNNEL_T_ENV"))\n',
        'stream': 'print("tick")\nos.execute("sleep 1.5")\nprint("tock")\n',
        'inline': ('print(6 * 7)\n', '42\n')},
    'lua5.3': {   'probe': 'io.write(io.read("a"))\n'
                 'print("arg=" .. arg[1])\n'
                 'print("env=" .. os.getenv("RUNNEL_T_ENV"))\n',
        'stream': 'print("tick")\nos.execute("sleep 1.5")\nprint("tock")\n',
        'inline': ('print(6 * 7)\n', '42\n')},
    'luajit': {   'probe': 'io.write(io.read("*a"))\n'
                 'print("arg=" .. arg[1])\n'
                 'print("env=" .. os.getenv("RUNNEL_T_ENV"))\n',
        'stream': 'print("tick")\nos.execute("sleep 1.5")\nprint("tock")\n',
        'inline': ('print(6 * 7)\n', '42\n')},
    'm4': {   'probe': 'syscmd(`cat\')dnl\nenv=esyscmd(`printf %s "$RUNNEL_T_ENV"\')\n',
        'stream': "tick\nsyscmd(`sleep 1.5')dnl\ntock\n",
        'no_args': "m4's arguments are input files: the spec passes none",
        'probe_expected': 'first line of stdin\nsecond line, ü and €\nenv=env value 42\n'},
    'mawk': {   'probe': 'BEGIN { arg = ARGV[1]; ARGV[1] = "" }\n'
                 '{ print; fflush() }\n'
                 'END { printf "arg=%s\\nenv=%s\\n", arg, ENVIRON["RUNNEL_T_ENV"] }\n',
        'stream': 'BEGIN { print "tick"; fflush(); system("sleep 1.5"); print "tock" }\n'},
    'mksh': {   'probe': 'cat\nprintf "arg=%s\\nenv=%s\\n" "$1" "$RUNNEL_T_ENV"\n',
        'stream': 'echo tick\nsleep 1.5\necho tock\n',
        'inline': ('x=6\necho "$((x * 7))"\n', '42\n')},
    'nasm': {   'probe': 'section .bss\n'
                 'buf: resb 4096\n'
                 '\n'
                 'section .data\n'
                 'a: db "arg="\n'
                 'e: db "env="\n'
                 'nl: db 10\n'
                 'key: db "RUNNEL_T_ENV="\n'
                 '\n'
                 'section .text\n'
                 'global _start\n'
                 '; write(1, rsi, rdx)\n'
                 'wr:\n'
                 '    mov rax, 1\n'
                 '    mov rdi, 1\n'
                 '    syscall\n'
                 '    ret\n'
                 '; strlen(rsi) -> rdx\n'
                 'slen:\n'
                 '    xor rdx, rdx\n'
                 '.l: cmp byte [rsi+rdx], 0\n'
                 '    je .d\n'
                 '    inc rdx\n'
                 '    jmp .l\n'
                 '.d: ret\n'
                 '_start:\n'
                 '    mov r12, rsp\n'
                 '.copy:\n'
                 '    xor rax, rax\n'
                 '    xor rdi, rdi\n'
                 '    mov rsi, buf\n'
                 '    mov rdx, 4096\n'
                 '    syscall\n'
                 '    cmp rax, 0\n'
                 '    jle .args\n'
                 '    mov rdx, rax\n'
                 '    mov rsi, buf\n'
                 '    call wr\n'
                 '    jmp .copy\n'
                 '.args:\n'
                 '    mov rsi, a\n'
                 '    mov rdx, 4\n'
                 '    call wr\n'
                 '    mov rsi, [r12+16]\n'
                 '    call slen\n'
                 '    call wr\n'
                 '    mov rsi, nl\n'
                 '    mov rdx, 1\n'
                 '    call wr\n'
                 '    mov rax, [r12]\n'
                 '    lea rbx, [r12+16+rax*8]\n'
                 '.env:\n'
                 '    mov rsi, [rbx]\n'
                 '    test rsi, rsi\n'
                 '    jz .done\n'
                 '    add rbx, 8\n'
                 '    mov rdi, key\n'
                 '    mov rcx, 13\n'
                 '    repe cmpsb\n'
                 '    jne .env\n'
                 '    push rsi\n'
                 '    mov rsi, e\n'
                 '    mov rdx, 4\n'
                 '    call wr\n'
                 '    pop rsi\n'
                 '    call slen\n'
                 '    call wr\n'
                 '    mov rsi, nl\n'
                 '    mov rdx, 1\n'
                 '    call wr\n'
                 '.done:\n'
                 '    mov rax, 60\n'
                 '    xor rdi, rdi\n'
                 '    syscall\n',
        'stream': 'section .data\n'
                  't1: db "tick", 10\n'
                  't2: db "tock", 10\n'
                  'ts: dq 1, 500000000\n'
                  '\n'
                  'section .text\n'
                  'global _start\n'
                  '_start:\n'
                  '    mov rax, 1\n'
                  '    mov rdi, 1\n'
                  '    mov rsi, t1\n'
                  '    mov rdx, 5\n'
                  '    syscall\n'
                  '    mov rax, 35\n'
                  '    mov rdi, ts\n'
                  '    xor rsi, rsi\n'
                  '    syscall\n'
                  '    mov rax, 1\n'
                  '    mov rdi, 1\n'
                  '    mov rsi, t2\n'
                  '    mov rdx, 5\n'
                  '    syscall\n'
                  '    mov rax, 60\n'
                  '    xor rdi, rdi\n'
                  '    syscall\n',
        'compile_error': 'section .text\nglobal _start\n_start:\n    movv rax, 1\n',
        'compile_error_text': 'instruction expected'},
    'nawk': {   'probe': 'BEGIN { arg = ARGV[1]; ARGV[1] = "" }\n'
                 '{ print; fflush() }\n'
                 'END { printf "arg=%s\\nenv=%s\\n", arg, ENVIRON["RUNNEL_T_ENV"] }\n',
        'stream': 'BEGIN { print "tick"; fflush(); system("sleep 1.5"); print "tock" }\n'},
    'newlisp': {   'probe': '(while (read-line) (println (current-line)))\n'
                 '(println "arg=" (main-args 3))\n'
                 '(println "env=" (env "RUNNEL_T_ENV"))\n'
                 '(exit)\n',
        'stream': '(println "tick")\n(sleep 1500)\n(println "tock")\n(exit)\n'},
    'nickle': {   'probe': 'while (!File::end(stdin)) printf("%s\\n", File::fgets(stdin));\n'
                 'printf("arg=%s\\n", argv[1]);\n'
                 'printf("env=%s\\n", Environ::get("RUNNEL_T_ENV"));\n',
        'stream': 'printf("tick\\n");\nFile::flush(stdout);\nsleep(1500);\nprintf("tock\\n");\n'},
    'nim': {   'probe': 'import os\n'
                 'stdout.write(stdin.readAll())\n'
                 'echo "arg=", paramStr(1)\n'
                 'echo "env=", getEnv("RUNNEL_T_ENV")\n',
        'stream': 'import os\necho "tick"\nflushFile(stdout)\nsleep(1500)\necho "tock"\n',
        'compile_error': 'let x: int = "no"\n',
        'compile_error_text': 'type mismatch'},
    'objective-c': {   'probe': '#include <stdio.h>\n'
                 '#include <stdlib.h>\n'
                 '\n'
                 'int main(int argc, char **argv) {\n'
                 '    char buf[4096];\n'
                 '    size_t n;\n'
                 '    while ((n = fread(buf, 1, sizeof buf, stdin)) > 0)\n'
                 '        fwrite(buf, 1, n, stdout);\n'
                 '    const char *e = getenv("RUNNEL_T_ENV");\n'
                 '    printf("arg=%s\\nenv=%s\\n", argc > 1 ? argv[1] : "(none)", e ? e : "(none)");\n'
                 '    return 0;\n'
                 '}\n',
        'stream': '#include <stdio.h>\n'
                  '#include <unistd.h>\n'
                  '\n'
                  'int main(void) {\n'
                  '    printf("tick\\n");\n'
                  '    usleep(1500000);\n'
                  '    printf("tock\\n");\n'
                  '    return 0;\n'
                  '}\n',
        'compile_error': 'int main(void) { return undefined_name; }\n',
        'compile_error_text': 'undefined_name'},
    'octave': {   'probe': 'while true\n'
                 '  l = fgetl(stdin);\n'
                 '  if ~ischar(l), break; end\n'
                 '  printf("%s\\n", l);\n'
                 'end\n'
                 'a = argv();\n'
                 'printf("arg=%s\\n", a{1});\n'
                 'printf("env=%s\\n", getenv("RUNNEL_T_ENV"));\n',
        'stream': 'printf("tick\\n");\nfflush(stdout);\npause(1.5);\nprintf("tock\\n");\n'},
    'pari-gp': {   'probe': 'v = externstr("cat");\n'
                 'for(i = 1, #v, print(v[i]));\n'
                 'print("env=", getenv("RUNNEL_T_ENV"));\n'
                 'quit;\n',
        'stream': 'print("tick");\nsystem("sleep 1.5");\nprint("tock");\nquit;\n',
        'no_args': "gp's arguments are its own options: the spec passes none",
        'probe_expected': 'first line of stdin\nsecond line, ü and €\nenv=env value 42\n'},
    'picolisp': {   'probe': '(in NIL (while (line T) (prinl @)))\n'
                 '(prinl "arg=" (opt))\n'
                 '(prinl "env=" (sys "RUNNEL_T_ENV"))\n'
                 '(bye)\n',
        'stream': '(prinl "tick")\n(flush)\n(wait 1500)\n(prinl "tock")\n(bye)\n'},
    'pike': {   'probe': 'int main(int argc, array(string) argv) {\n'
                 '    write(Stdio.stdin.read());\n'
                 '    write("arg=%s\\n", argv[1]);\n'
                 '    write("env=%s\\n", getenv("RUNNEL_T_ENV"));\n'
                 '    return 0;\n'
                 '}\n',
        'stream': 'int main() {\n'
                  '    write("tick\\n");\n'
                  '    sleep(1.5);\n'
                  '    write("tock\\n");\n'
                  '    return 0;\n'
                  '}\n'},
    'prolog': {   'probe': ':- initialization(main).\n'
                 'copy :- read_line_to_string(user_input, L), ( L == end_of_file -> true ; writeln(L), '
                 'copy ).\n'
                 'main :- copy, current_prolog_flag(argv, [A|_]), format("arg=~w~n", [A]), '
                 'getenv(\'RUNNEL_T_ENV\', E), format("env=~w~n", [E]).\n',
        'stream': ':- initialization(main).\n'
                  'main :- writeln(tick), flush_output, sleep(1.5), writeln(tock).\n'},
    'pypy3': {   'probe': 'import os, sys\n'
                 'sys.stdout.write(sys.stdin.read())\n'
                 "print('arg=' + sys.argv[1])\n"
                 "print('env=' + os.environ['RUNNEL_T_ENV'])\n",
        'stream': "import time\nprint('tick')\ntime.sleep(1.5)\nprint('tock')\n",
        'inline': ('print(6 * 7)\n', '42\n')},
    'racket': {   'probe': '#lang racket/base\n'
                 '(require racket/port)\n'
                 '(void (write-string (port->string (current-input-port))))\n'
                 '(printf "arg=~a\\n" (vector-ref (current-command-line-arguments) 0))\n'
                 '(printf "env=~a\\n" (getenv "RUNNEL_T_ENV"))\n',
        'stream': '#lang racket/base\n'
                  '(displayln "tick")\n'
                  '(flush-output)\n'
                  '(sleep 1.5)\n'
                  '(displayln "tock")\n'},
    'raku': {   'probe': 'print $*IN.slurp;\nsay "arg=" ~ @*ARGS[0];\nsay "env=" ~ %*ENV<RUNNEL_T_ENV>;\n',
        'stream': 'say "tick";\n$*OUT.flush;\nsleep 1.5;\nsay "tock";\n'},
    'rc': {   'probe': "cat\nprintf 'arg=%s\\nenv=%s\\n' $1 $RUNNEL_T_ENV\n",
        'stream': 'echo tick\nsleep 1.5\necho tock\n'},
    'rexx': {   'probe': 'parse arg a\n'
                 'do forever\n'
                 '  l = linein()\n'
                 '  if l = "" & lines() = 0 then leave\n'
                 '  say l\n'
                 'end\n'
                 'say "arg="a\n'
                 'say "env="value("RUNNEL_T_ENV", , "ENVIRONMENT")\n',
        'stream': 'say "tick"\ncall sleep 1.5\nsay "tock"\n'},
    'scala': {   'probe': 'object Main {\n'
                 '  def main(args: Array[String]): Unit = {\n'
                 '    print(scala.io.Source.stdin.mkString)\n'
                 '    println("arg=" + args(0))\n'
                 '    println("env=" + System.getenv("RUNNEL_T_ENV"))\n'
                 '  }\n'
                 '}\n',
        'stream': 'object Main {\n'
                  '  def main(args: Array[String]): Unit = {\n'
                  '    println("tick")\n'
                  '    Thread.sleep(1500)\n'
                  '    println("tock")\n'
                  '  }\n'
                  '}\n',
        'compile_error': 'object Main {\n'
                         '  def main(args: Array[String]): Unit = {\n'
                         '    val x: Int = "no"\n'
                         '  }\n'
                         '}\n',
        'compile_error_text': 'type mismatch'},
    'sed': {   'probe': 'p\nd\n',
        'example_stdin': 'x\n',
        'no_args': "sed's arguments are input files: the spec passes none",
        'no_env': 'sed cannot read the environment',
        'probe_expected': 'first line of stdin\nsecond line, ü and €\n',
        'no_stream': 'sed has no way to pause'},
    'sml': {   'probe': 'fun copy () = case TextIO.inputLine TextIO.stdIn of NONE => () | SOME l => (print l; '
                 'copy ());\n'
                 'val _ = copy ();\n'
                 'val _ = print ("arg=" ^ List.nth (CommandLine.arguments (), 2) ^ "\\n");\n'
                 'val _ = print ("env=" ^ valOf (OS.Process.getEnv "RUNNEL_T_ENV") ^ "\\n");\n',
        'stream': 'print "tick\\n";\n'
                  'TextIO.flushOut TextIO.stdOut;\n'
                  'OS.Process.sleep (Time.fromMilliseconds 1500);\n'
                  'print "tock\\n";\n'},
    'tcc': {   'probe': '#include <stdio.h>\n'
                 '#include <stdlib.h>\n'
                 '\n'
                 'int main(int argc, char **argv) {\n'
                 '    char buf[4096];\n'
                 '    size_t n;\n'
                 '    while ((n = fread(buf, 1, sizeof buf, stdin)) > 0)\n'
                 '        fwrite(buf, 1, n, stdout);\n'
                 '    const char *e = getenv("RUNNEL_T_ENV");\n'
                 '    printf("arg=%s\\nenv=%s\\n", argc > 1 ? argv[1] : "(none)", e ? e : "(none)");\n'
                 '    return 0;\n'
                 '}\n',
        'stream': '#include <stdio.h>\n'
                  '#include <unistd.h>\n'
                  '\n'
                  'int main(void) {\n'
                  '    printf("tick\\n");\n'
                  '    usleep(1500000);\n'
                  '    printf("tock\\n");\n'
                  '    return 0;\n'
                  '}\n',
        'compile_error': 'int main(void) { return undefined_name; }\n',
        'compile_error_text': 'undefined_name'},
    'tcsh': {   'probe': 'cat\nprintf "arg=%s\\nenv=%s\\n" "$1" "$RUNNEL_T_ENV"\n',
        'stream': 'echo tick\nsleep 1.5\necho tock\n'},
    'text': {   'probe': 'printed as it is\n',
        'probe_expected': 'printed as it is\n',
        'no_args': 'plain text is printed as it is',
        'no_env': 'plain text is printed as it is',
        'no_stream': 'plain text is printed as it is',
        'no_stdin': 'plain text is printed as it is'},
    'vala': {   'probe': 'int main(string[] args) {\n'
                 '    string? line;\n'
                 '    while ((line = stdin.read_line()) != null) stdout.printf("%s\\n", line);\n'
                 '    stdout.printf("arg=%s\\n", args[1]);\n'
                 '    stdout.printf("env=%s\\n", Environment.get_variable("RUNNEL_T_ENV"));\n'
                 '    return 0;\n'
                 '}\n',
        'stream': 'void main() {\n'
                  '    stdout.printf("tick\\n");\n'
                  '    stdout.flush();\n'
                  '    Thread.usleep(1500000);\n'
                  '    stdout.printf("tock\\n");\n'
                  '}\n',
        'compile_error': 'void main() {\n    int x = "no";\n}\n',
        'compile_error_text': 'error'},
    'verilog': {   'probe': 'module main;\n'
                 '  integer c;\n'
                 '  reg [8*64-1:0] arg;\n'
                 '  initial begin\n'
                 "    c = $fgetc(32'h8000_0000);\n"
                 '    while (c != -1) begin\n'
                 '      $write("%c", c);\n'
                 "      c = $fgetc(32'h8000_0000);\n"
                 '    end\n'
                 '    if ($value$plusargs("arg=%s", arg)) $display("arg=%0s", arg);\n'
                 '    $finish;\n'
                 '  end\n'
                 'endmodule\n',
        'stream': 'module main;\n'
                  '  integer c;\n'
                  '  initial begin\n'
                  '    $display("tick");\n'
                  '    $fflush;\n'
                  "    c = $fgetc(32'h8000_0000);\n"
                  '    $display("%c", c);\n'
                  '    $finish;\n'
                  '  end\n'
                  'endmodule\n',
        'compile_error': 'module main;\n  initial begin\n    undefined_task;\n  end\nendmodule\n',
        'compile_error_text': 'error',
        'no_args': 'Verilog programs see +plusargs, not arguments',
        'no_env': 'Verilog programs cannot read the environment',
        'stdin': 'first line of stdin\nsecond line\n',
        'probe_expected': 'first line of stdin\nsecond line\n',
        'stream_interactive': True,
        'stream_input': 'B',
        'stream_expected': 'tick\nB\n',
        'stream_first': 'tick\n'},
    'yabasic': {   'probe': 'while (not eof(0))\n'
                 '  line input "" l$\n'
                 '  print l$\n'
                 'wend\n'
                 'print "arg=" + peek$("argument")\n'
                 'print "env=" + system$("printf %s \\"$RUNNEL_T_ENV\\"")\n',
        'stream': 'print "tick"\npause 1.5\nprint "tock"\n'},
    'yash': {   'probe': 'cat\nprintf "arg=%s\\nenv=%s\\n" "$1" "$RUNNEL_T_ENV"\n',
        'stream': 'echo tick\nsleep 1.5\necho tock\n',
        'inline': ('x=6\necho "$((x * 7))"\n', '42\n')},
    'zsh': {   'probe': 'cat\nprintf "arg=%s\\nenv=%s\\n" "$1" "$RUNNEL_T_ENV"\n',
        'stream': 'echo tick\nsleep 1.5\necho tock\n',
        'inline': ('x=6\necho "$((x * 7))"\n', '42\n')},
})
