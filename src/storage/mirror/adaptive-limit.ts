/**
 * A concurrency limit that backs off while a server pushes back and creeps up again while it does not
 * (additive increase, multiplicative decrease, as TCP does): the SDK retries each request, this keeps the
 * number of requests in flight where the server can take them.
 */
export class AdaptiveLimit {
  /** The configured ceiling. */
  readonly max: number;
  private current: number;
  private running = 0;
  private successes = 0;
  private lastDecrease = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(max: number) {
    this.max = Math.max(1, max);
    this.current = this.max;
  }

  get limit(): number {
    return this.current;
  }

  get inFlight(): number {
    return this.running;
  }

  /** Resolves when a slot is free; call the returned function when the work is done. */
  async acquire(): Promise<() => void> {
    while (this.running >= this.current) await new Promise<void>((resolve) => this.waiting.push(resolve));
    this.running++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.running--;
      this.waiting.shift()?.();
    };
  }

  /** A request went through: after a whole window of them without push-back, allow one more. */
  succeeded(): void {
    if (++this.successes < this.current || this.current >= this.max) return;
    this.successes = 0;
    this.current++;
    this.waiting.shift()?.();
  }

  /** The server pushed back: cut by a quarter, at most once per `quietMs` (one burst is one signal). */
  pushedBack(now = Date.now(), quietMs = 500): boolean {
    this.successes = 0;
    if (now - this.lastDecrease < quietMs) return false;
    this.lastDecrease = now;
    this.current = Math.max(1, Math.floor(this.current * 0.75));
    return true;
  }
}
