/**
 * Holds a publisher's media while its key is being verified. node-media-server cannot hold a
 * publish (it answers `NetStream.Publish.Start` before its own `prePublish` event), and bytes that
 * arrived in the same socket read as the `publish` command are parsed right after it. The ingest
 * pauses the socket (so the peer stops sending) and routes the packets already parsed through
 * this gate: nothing reaches node-media-server's fan-out (players, GOP cache) until `open()`;
 * `shut()` drops everything for good.
 */
export type GateState = 'holding' | 'open' | 'shut';
export type PushResult = 'held' | 'delivered' | 'dropped' | 'overflow';

export class PacketGate<T> {
  private held: T[] = [];
  private current: GateState = 'holding';

  /**
   * @param deliver where packets go once the gate is open
   * @param maxHeld packets held at most; one more and `push` answers `overflow` (the caller drops
   *   the publisher: with its socket paused, this many packets can only come from a hostile peer)
   */
  constructor(private readonly deliver: (packet: T) => void, private readonly maxHeld: number) {}

  get state(): GateState {
    return this.current;
  }

  get heldCount(): number {
    return this.held.length;
  }

  push(packet: T): PushResult {
    switch (this.current) {
      case 'open':
        this.deliver(packet);
        return 'delivered';
      case 'shut':
        return 'dropped';
      case 'holding':
        if (this.held.length >= this.maxHeld) {
          this.shut();
          return 'overflow';
        }
        this.held.push(packet);
        return 'held';
    }
  }

  /** Delivers what was held, in order, and everything after. Returns how many were held. */
  open(): number {
    if (this.current !== 'holding') return 0;
    this.current = 'open';
    const held = this.held;
    this.held = [];
    for (const packet of held) this.deliver(packet);
    return held.length;
  }

  /** Drops what was held and everything after. Returns how many were dropped. */
  shut(): number {
    const dropped = this.held.length;
    this.held = [];
    this.current = 'shut';
    return dropped;
  }
}
