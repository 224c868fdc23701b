import { createHash } from 'node:crypto';

/** A message attribute as the SQS JSON protocol carries it: binary values as base64, as the SDK sends them. */
export interface MessageAttributeValue {
  DataType: string;
  StringValue?: string;
  BinaryValue?: string;
}

/**
 * The MD5 hex digest of a message body's UTF-8 bytes: what SQS returns as `MD5OfMessageBody` / `MD5OfBody` and
 * what `@aws-sdk/client-sqs` checks on every send and receive (its `VALIDATE_BODY_MD5` middleware throws on a
 * mismatch).
 *
 * @example
 * md5OfBody('Message Body'); // 'fce0ea8dd236ccb3ed9b37dae260836f'
 */
export function md5OfBody(body: string): string {
  return createHash('md5').update(body, 'utf8').digest('hex');
}

/**
 * The MD5 over message attributes, by the algorithm of the developer guide page "Calculating the MD5 message digest
 * for message attributes": attributes sorted by name; for each, the name, the data type (each as a 4-byte big-endian
 * length and its UTF-8 bytes), one transport byte (1 for String and Number, 2 for Binary), then the value as a 4-byte
 * length and its bytes. Returns undefined when there are no attributes, as SQS omits the field then.
 *
 * @example
 * md5OfMessageAttributes({ kind: { DataType: 'String', StringValue: 'slice' } });
 */
export function md5OfMessageAttributes(attributes: Record<string, MessageAttributeValue> | undefined) {
  const names = Object.keys(attributes ?? {}).sort();
  if (!attributes || names.length === 0) return undefined;
  const hash = createHash('md5');
  const lengthPrefixed = (bytes: Buffer) => {
    const length = Buffer.alloc(4);
    length.writeUInt32BE(bytes.length);
    hash.update(length);
    hash.update(bytes);
  };
  for (const name of names) {
    const attribute = attributes[name];
    lengthPrefixed(Buffer.from(name, 'utf8'));
    lengthPrefixed(Buffer.from(attribute.DataType, 'utf8'));
    if (isBinary(attribute.DataType)) {
      hash.update(Buffer.from([2]));
      lengthPrefixed(Buffer.from(attribute.BinaryValue ?? '', 'base64'));
    } else {
      hash.update(Buffer.from([1]));
      lengthPrefixed(Buffer.from(attribute.StringValue ?? '', 'utf8'));
    }
  }
  return hash.digest('hex');
}

/** `Binary` and its custom subtypes (`Binary.gif`) carry `BinaryValue`; `String` and `Number` carry `StringValue`. */
export function isBinary(dataType: string): boolean {
  return dataType === 'Binary' || dataType.startsWith('Binary.');
}
