// `consul connect envoy pipe-bootstrap <fifo>` (S: command/connect/envoy/pipe-bootstrap):
// copies stdin into the named pipe (the open blocks until Envoy opens it for reading), prints
// `Bootstrap sent, unlinking named pipe` and removes the pipe. If Envoy never reads it, it gives up
// after 10 s: removes the pipe and exits 99.
import { constants, rmSync } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { open, rm } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';

export const PIPE_TIMEOUT_MS = 10_000;

/**
 * Opens the FIFO for writing once a reader has it open. Go blocks in open(2); the double polls
 * with O_NONBLOCK (ENXIO until a reader comes), so no thread stays stuck in open when it gives up.
 */
async function openWhenRead(path: string): Promise<FileHandle> {
  for (;;) {
    try {
      return await open(path, constants.O_WRONLY | constants.O_APPEND | constants.O_NONBLOCK);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENXIO') throw e;
      await sleep(20);
    }
  }
}

async function writeAll(fh: FileHandle, data: Buffer): Promise<void> {
  let off = 0;
  while (off < data.length) {
    try {
      off += (await fh.write(data, off)).bytesWritten;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EAGAIN') throw e;
      await sleep(5);
    }
  }
}

async function readStdin(): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

export async function runPipeBootstrap(args: string[]): Promise<number> {
  if (args.length !== 1) {
    process.stderr.write('Expecting named pipe path as argument\n');
    return 1;
  }
  const path = args[0] as string;
  const timeoutMs = Number(process.env.CONSUL_DOUBLE_PIPE_TIMEOUT_MS ?? PIPE_TIMEOUT_MS);
  setTimeout(() => {
    rmSync(path, { force: true });
    process.exit(99);
  }, timeoutMs).unref();
  try {
    const data = await readStdin();
    const fh = await openWhenRead(path);
    try {
      await writeAll(fh, data);
    } finally {
      await fh.close();
    }
  } catch (e) {
    process.stderr.write(`${(e as Error).message}\n`);
    return 1;
  }
  process.stdout.write('Bootstrap sent, unlinking named pipe\n');
  await rm(path, { force: true });
  return 0;
}
