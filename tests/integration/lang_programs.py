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
