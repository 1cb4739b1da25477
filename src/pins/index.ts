/** Identity pinning (sigstore.lock): model, text format, comparison, one install's ledger. Knows nothing of Yarn. */
export * from './model';
export { serializePinLock } from './serialize';
export { parsePinLock, mergeLocks, splitConflict, type ParsedPinLock } from './parse';
export { checkAgainstPin, identityChanges, describeIdentity, type PinObservation, type FieldChange } from './compare';
export { PinLedger, type PinReport } from './ledger';
