/* `lbsim merge [--format FMT] [--report FILE.svg] [--sweep-metric M] FILE...`:
 * the outputs of a sweep's shards (--shard K/N, or --resume files; '-'
 * for stdin) back into what the whole sweep prints: its table or JSON
 * Lines on stdout and its plot, to the byte. Lines that are not JSON (a
 * batch engine's own messages) are skipped and counted on stderr. Every
 * shard must be of the same sweep, and together they must hold every run
 * once: otherwise one line says which file differs and where, or which
 * runs are missing or doubled and which shard should have had them, and
 * the exit status is 2. */
#ifndef LBSIM_MERGE_H
#define LBSIM_MERGE_H

/* argv[0] is "merge". Returns the exit status. */
int lbsim_merge_main(int argc, char **argv);

#endif
