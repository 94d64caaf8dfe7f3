/**
 * Reading received mail: `read()` turns a raw mail into the view model the display renders; the HTML
 * policy and the reply quote builder go with it.
 */
export { read, readAttachment, decodeAttachment, guessType, type RawMail } from './read.ts';
export { blobSink, type BlobSink, type BlobSinkOptions } from './blob-sink.ts';
export { sanitizeHtml, htmlSanitizer, cssCanLoad, cssCanOverlay } from './html.ts';
export { quoteForReply, type ReplyQuote } from './reply.ts';
export { keyIDOf } from './openpgp-data.ts';
export type {
  AttachmentView,
  DecryptionKeyRequest,
  DisplayPart,
  EncryptionState,
  OfferedKey,
  Protection,
  ReadError,
  ReadOptions,
  ReadResult,
  ReadWarning,
  SignatureState,
  Signer,
  SignerStatus,
  VerificationKeyRequest,
  WarningCode,
} from './types.ts';
