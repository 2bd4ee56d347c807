// Training sales (`posbridge test sale`): the whole sale engine runs, but the payment cloud is a
// simulation inside the bridge. What makes a training sale recognisable everywhere without asking
// anyone: its order reference and its attempt ids carry prefixes no register or ULID produces
// (ULIDs are upper-case Crockford base32; the prefix is lower-case), and its records say
// `training: true`. docs/diagnostics.md, "Training sales", says why no configuration can make one
// move money.

/** Every attempt of a training sale has an id starting with this (never a ULID's first letter). */
export const TRAINING_ATTEMPT_PREFIX = "trn_";

/** Order references of training sales start with this. */
export const TRAINING_ORDER_PREFIX = "TRAIN-";

/** The marker put before every text the register and the display get during a training sale. */
export const TRAINING_MARK = "培训";

export function isTrainingAttempt(attemptId: string): boolean {
  return attemptId.startsWith(TRAINING_ATTEMPT_PREFIX);
}
