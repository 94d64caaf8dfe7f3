/**
 * MIME for reading mail: the entity tree over raw bytes (exact bytes for RFC 3156 §5), or over a byte
 * source read in windows for mail too large to hold (source-entity.ts, source.ts), leaf decoding
 * through postal-mime, armor detection, attachment name sanitizing, and the bounds that keep a crafted
 * mail from costing unbounded time or memory.
 */
export { parseMime, parseBudget, splitMultipart, isAttachment, canonicalCrlf, STORED_PEEK, type MimeEntity, type ParseBudget, type StoredEntity } from './entity.ts';
export { parseMimeSource, splitMultipartWindowed, WindowedText, type SourceParseOptions } from './source-entity.ts';
export { base64DecodeStream, blobSource, bytesSource, rangeStream, readRange, STREAM_CHUNK, type Base64Setter, type ByteSource, type SourceRange } from './source.ts';
export { parseHeaderBlock, parseParameterized, headerValue, headerValues, decodeHeaderText, type HeaderField, type ParameterizedValue } from './headers.ts';
export { decodeLeaf, decodeBody, decodeBase64Native, decodeCharset, partFilename, decodedBodyStream, decodedBodyPrefix, bodySize, entityBytes, type DecodedLeaf } from './decode.ts';
export { findArmorBlocks, hasArmor, startsWithArmor, htmlToArmorText, MAX_ARMOR_BLOCKS, type ArmorBlock, type ArmorKind } from './armor.ts';
export { sanitizeFilename, type SanitizeFilenameOptions } from './filename.ts';
export { decodeFlowed } from './flowed.ts';
export { defaultMimeLimits, mimeLimits, type MimeLimits } from './limits.ts';
