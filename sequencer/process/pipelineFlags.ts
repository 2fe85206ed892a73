/**
 * The batch pipeline's command-line settings (`--pipeline-depth`, `--batches-per-post`), shared by the
 * sequencer process and the devnet: SequencerOptions.pipelineDepth and batchesPerPost document them.
 */

/** The flags as Commander hands them over (strings). */
export type PipelineFlags = { pipelineDepth: string; batchesPerPost: string };

/** The two settings as numbers; throws, naming the flag, for anything but a whole number from 1 to 99. */
export function pipelineSettings(flags: PipelineFlags): { pipelineDepth: number; batchesPerPost: number } {
  const parse = (flag: string, v: string) => {
    if (!/^[1-9][0-9]?$/.test(v)) throw new Error(`${flag} ${v}: a number from 1 to 99`);
    return Number(v);
  };
  return { pipelineDepth: parse("--pipeline-depth", flags.pipelineDepth), batchesPerPost: parse("--batches-per-post", flags.batchesPerPost) };
}
