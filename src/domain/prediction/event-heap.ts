// A binary min-heap of simulator events on parallel typed arrays (time, kind+a, b, c), growing as
// needed. Equal times pop in an unspecified but deterministic order.

/** Events ordered by time. `kind` is 0..7; `a` may be negative. */
export class EventHeap {
  private time = new Float64Array(1024);
  private ka = new Int32Array(1024);
  private b = new Int32Array(1024);
  private c = new Int32Array(1024);
  private n = 0;
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
    const tm = this.time;
    let i = this.n++;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (tm[p]! <= time) break;
      tm[i] = tm[p]!;
      this.ka[i] = this.ka[p]!;
      this.b[i] = this.b[p]!;
      this.c[i] = this.c[p]!;
      i = p;
    }
    tm[i] = time;
    this.ka[i] = (a << 3) | kind;
    this.b[i] = b;
    this.c[i] = c;
  }

  /** Reads the earliest event into topTime/topKind/topA/topB/topC without removing it; false when empty. */
  peek(): boolean {
    if (this.n === 0) return false;
    this.topTime = this.time[0]!;
    const top = this.ka[0]!;
    this.topKind = top & 7;
    this.topA = top >> 3;
    this.topB = this.b[0]!;
    this.topC = this.c[0]!;
    return true;
  }

  /** Replaces the earliest event with a new one (a pop and a push in one pass); the heap must not be empty. */
  replaceTop(time: number, kind: number, a = 0, b = 0, c = 0): void {
    this.siftDown(time, (a << 3) | kind, b, c, this.n);
  }

  private siftDown(t: number, k: number, b: number, c: number, last: number): void {
    const tm = this.time;
    const ka = this.ka;
    const bb = this.b;
    const cc = this.c;
    let i = 0;
    for (;;) {
      let ch = 2 * i + 1;
      if (ch >= last) break;
      if (ch + 1 < last && tm[ch + 1]! < tm[ch]!) ch++;
      if (t <= tm[ch]!) break;
      tm[i] = tm[ch]!;
      ka[i] = ka[ch]!;
      bb[i] = bb[ch]!;
      cc[i] = cc[ch]!;
      i = ch;
    }
    tm[i] = t;
    ka[i] = k;
    bb[i] = b;
    cc[i] = c;
  }

  /** Removes the earliest event into topTime/topKind/topA/topB/topC; false when empty. */
  pop(): boolean {
    if (this.n === 0) return false;
    const tm = this.time;
    const ka = this.ka;
    const bb = this.b;
    const cc = this.c;
    this.topTime = tm[0]!;
    const top = ka[0]!;
    this.topKind = top & 7;
    this.topA = top >> 3;
    this.topB = bb[0]!;
    this.topC = cc[0]!;
    const last = --this.n;
    if (last > 0) this.siftDown(tm[last]!, ka[last]!, bb[last]!, cc[last]!, last);
    return true;
  }

  private grow(): void {
    const cap = this.time.length * 2;
    const time = new Float64Array(cap);
    time.set(this.time);
    this.time = time;
    const i32 = (x: Int32Array) => {
      const y = new Int32Array(cap);
      y.set(x);
      return y;
    };
    this.ka = i32(this.ka);
    this.b = i32(this.b);
    this.c = i32(this.c);
  }
}
