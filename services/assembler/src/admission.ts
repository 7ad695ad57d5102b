/** Small files one assembler assembles at once, whatever the byte budget allows. */
export const MAX_SMALL_ASSEMBLIES = 64;

/** What an admitted assembly holds until it is given back. */
export interface Admission {
  readonly large: boolean;
  readonly bytes: number;
}

/**
 * Which assemblies may run at once in one assembler, by the memory they hold. A file larger than
 * one storage part is uploaded part by part (about three parts in memory on S3): at most
 * `largeSlots` (MQFT_ASSEMBLY_CONCURRENCY) of those. A file of at most one part is held whole
 * (S3 PutObject) and mostly waits on round trips, so running two at a time starves a burst of
 * small files (bench/many-small-files, fleet): they share a budget of `largeSlots × partSize`
 * bytes instead (a single one always fits), at most MAX_SMALL_ASSEMBLIES at once.
 */
export class AssemblyAdmission {
  private large = 0;
  private small = 0;
  private smallBytes = 0;

  constructor(
    private readonly largeSlots: number,
    private readonly partSize: number,
  ) {}

  /** The most assemblies that can run at once. */
  get capacity(): number {
    return this.largeSlots + MAX_SMALL_ASSEMBLIES;
  }

  /** Takes room for a file of `size` bytes; undefined when there is none now. */
  tryAdmit(size: number): Admission | undefined {
    if (size > this.partSize) {
      if (this.large >= this.largeSlots) return undefined;
      this.large += 1;
      return { large: true, bytes: 0 };
    }
    const budget = this.largeSlots * this.partSize;
    if (this.small >= MAX_SMALL_ASSEMBLIES || this.smallBytes + size > budget) return undefined;
    this.small += 1;
    this.smallBytes += size;
    return { large: false, bytes: size };
  }

  release(admission: Admission): void {
    if (admission.large) {
      this.large -= 1;
    } else {
      this.small -= 1;
      this.smallBytes -= admission.bytes;
    }
  }
}
