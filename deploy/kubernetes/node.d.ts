// The few Node.js APIs that manifests.ts uses, declared here so that type-checking it needs
// no @types/node: the only npm packages are the pinned ones of tests/alerting/package.json.
declare module "node:fs" {
  export function readFileSync(path: string, encoding: "utf8"): string;
  export function writeFileSync(path: string, data: string): void;
  export function mkdirSync(path: string, options: { recursive: boolean }): string | undefined;
}
declare module "node:child_process" {
  export function execFileSync(
    file: string,
    args: readonly string[],
    options: { encoding: "utf8"; maxBuffer?: number },
  ): string;
}
declare module "node:crypto" {
  interface Hash {
    update(data: string): Hash;
    digest(encoding: "hex"): string;
  }
  export function createHash(algorithm: "sha256"): Hash;
}
declare module "node:path" {
  export function join(...parts: string[]): string;
}
declare const process: {
  argv: string[];
  exitCode: number | undefined;
  stderr: { write(s: string): boolean };
};
