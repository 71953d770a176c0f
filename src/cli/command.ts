// What every command module receives and exports: main.ts parses argv into CommandValues and
// calls the command's default export, which returns the exit code.

/** The parsed flags of one command (node:util parseArgs values). */
export type CommandValues = Record<string, string | boolean | undefined>;

export type Command = (values: CommandValues) => Promise<number>;
