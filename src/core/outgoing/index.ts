/** Outgoing mail: may we encrypt/sign (plan), and the transform of body and attachments. */
export { mailboxAddress } from './address.ts';
export {
  planOutgoing,
  type OutgoingKeySource,
  type OutgoingPlan,
  type PlanProblem,
  type PlanRequest,
  type PlannedRecipient,
  type RecipientField,
  type RecipientKeyState,
  type RecipientKeys,
  type SenderKey,
} from './plan.ts';
export { dashEscapeForTransport, prepareTextForSigning, SIGNED_TEXT_WIDTH } from './plain-text.ts';
export { keyringKeySource, type KeyringKeySourceOptions } from './keyring-source.ts';
export { transformOutgoing, type OutgoingAttachment, type TransformRequest, type TransformResult, type TransformedAttachment } from './transform.ts';
export { wrapPgpMime, encodeUnstructured, PROTECTED_HEADER_NAMES, type PgpMimeRequest, type PgpMimeResult } from './pgp-mime.ts';
export { chooseWireFormat, type FormatChoice, type FormatRequest, type WireFormat } from './pgp-mime-format.ts';
