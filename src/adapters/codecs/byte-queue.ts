// A FIFO of byte chunks for block-framed decoders: take exactly n bytes, copying only when a read
// spans chunks.

/** Bytes waiting to be decoded, and how many were consumed before them. */
export type ByteQueue = {
  readonly size: number;
  /** Bytes taken so far (the compressed offset of the next byte). */
  readonly consumed: number;
  push(chunk: Uint8Array): void;
  /** The byte at `i` from the front, or -1 past the end. */
  at(i: number): number;
  /** The next `n` bytes (consumed), or undefined when fewer are queued. */
  take(n: number): Uint8Array | undefined;
};

/** Creates an empty queue. */
export function createByteQueue(): ByteQueue {
  const chunks: Uint8Array[] = [];
  let head = 0; // offset into chunks[0]
  let size = 0;
  let consumed = 0;
  return {
    get size() {
      return size;
    },
    get consumed() {
      return consumed;
    },
    push(chunk) {
      if (chunk.length === 0) return;
      chunks.push(chunk);
      size += chunk.length;
    },
    at(i) {
      if (i >= size) return -1;
      let k = head + i;
      for (const c of chunks) {
        if (k < c.length) return c[k] as number;
        k -= c.length;
      }
      return -1;
    },
    take(n) {
      if (n > size) return undefined;
      const first = chunks[0];
      let out: Uint8Array;
      if (first && first.length - head >= n) {
        out = first.subarray(head, head + n);
        head += n;
        if (head === first.length) {
          chunks.shift();
          head = 0;
        }
      } else {
        out = new Uint8Array(n);
        let filled = 0;
        while (filled < n) {
          const c = chunks[0] as Uint8Array;
          const part = Math.min(n - filled, c.length - head);
          out.set(c.subarray(head, head + part), filled);
          filled += part;
          head += part;
          if (head === c.length) {
            chunks.shift();
            head = 0;
          }
        }
      }
      size -= n;
      consumed += n;
      return out;
    },
  };
}
