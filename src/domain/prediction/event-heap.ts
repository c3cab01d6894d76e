// A binary min-heap of simulator events on parallel typed arrays (time, kind, a, b), growing as needed.

/** Events ordered by time, then by insertion order for equal times. */
export class EventHeap {
  private time = new Float64Array(1024);
  private seq = new Float64Array(1024);
  private kind = new Uint8Array(1024);
  private a = new Int32Array(1024);
  private b = new Int32Array(1024);
  private c = new Int32Array(1024);
  private n = 0;
  private counter = 0;
  /** Fields of the last popped event. */
  topTime = 0;
  topKind = 0;
  topA = 0;
  topB = 0;
  topC = 0;

  get size(): number {
    return this.n;
  }

  push(time: number, kind: number, a = 0, b = 0, c = 0): void {
    if (this.n === this.time.length) this.grow();
    let i = this.n++;
    const s = this.counter++;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (this.time[p]! < time || (this.time[p] === time && this.seq[p]! < s)) break;
      this.move(p, i);
      i = p;
    }
    this.time[i] = time;
    this.seq[i] = s;
    this.kind[i] = kind;
    this.a[i] = a;
    this.b[i] = b;
    this.c[i] = c;
  }

  /** Removes the earliest event into topTime/topKind/topA/topB; false when empty. */
  pop(): boolean {
    if (this.n === 0) return false;
    this.topTime = this.time[0]!;
    this.topKind = this.kind[0]!;
    this.topA = this.a[0]!;
    this.topB = this.b[0]!;
    this.topC = this.c[0]!;
    const last = --this.n;
    if (last > 0) {
      const t = this.time[last]!;
      const s = this.seq[last]!;
      const k = this.kind[last]!;
      const a = this.a[last]!;
      const b = this.b[last]!;
      const c2 = this.c[last]!;
      let i = 0;
      for (;;) {
        let c = 2 * i + 1;
        if (c >= last) break;
        if (c + 1 < last && (this.time[c + 1]! < this.time[c]! || (this.time[c + 1] === this.time[c] && this.seq[c + 1]! < this.seq[c]!))) c++;
        if (t < this.time[c]! || (t === this.time[c] && s < this.seq[c]!)) break;
        this.move(c, i);
        i = c;
      }
      this.time[i] = t;
      this.seq[i] = s;
      this.kind[i] = k;
      this.a[i] = a;
      this.b[i] = b;
      this.c[i] = c2;
    }
    return true;
  }

  private move(from: number, to: number): void {
    this.time[to] = this.time[from]!;
    this.seq[to] = this.seq[from]!;
    this.kind[to] = this.kind[from]!;
    this.a[to] = this.a[from]!;
    this.b[to] = this.b[from]!;
    this.c[to] = this.c[from]!;
  }

  private grow(): void {
    const cap = this.time.length * 2;
    const f = (x: Float64Array) => {
      const y = new Float64Array(cap);
      y.set(x);
      return y;
    };
    const i32 = (x: Int32Array) => {
      const y = new Int32Array(cap);
      y.set(x);
      return y;
    };
    this.time = f(this.time);
    this.seq = f(this.seq);
    const k = new Uint8Array(cap);
    k.set(this.kind);
    this.kind = k;
    this.a = i32(this.a);
    this.b = i32(this.b);
    this.c = i32(this.c);
  }
}
