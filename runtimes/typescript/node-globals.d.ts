// Node.js globals for TypeScript programs: Debian ships no @types/node, so
// without these a program could not read stdin, arguments or the
// environment. Typed loosely on purpose.
declare var process: any;
declare var Buffer: any;
declare var module: any;
declare var exports: any;
declare var __dirname: string;
declare var __filename: string;
declare function require(id: string): any;
