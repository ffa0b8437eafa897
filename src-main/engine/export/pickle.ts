/**
 * A minimal Python unpickler for the pickles `torch.save` writes (protocol 2; the protocol 3/4 opcodes
 * a newer writer might use are read too). It builds plain values — dict → Map, list / tuple → array,
 * str → string, int → number (bigint beyond 2^53), float, bool, None → null, bytes → Uint8Array —
 * and never runs anything: a GLOBAL is only a name, and what REDUCE, NEWOBJ, BUILD and BINPERSID make
 * of it is the caller's (PickleHooks), which refuses every name it does not know. Not read: the text
 * opcodes of protocol 0/1 (INT, LONG, STRING, UNICODE, FLOAT, PERSID, OBJ, INST), EXT*, and
 * protocol 5's out-of-band buffers; each is an error naming the opcode. Integers longer than 64
 * bytes and negative lengths are refused too (they only occur in hostile or damaged files).
 */

/** A class or function named by GLOBAL / STACK_GLOBAL. */
export interface PyGlobal {
  readonly kind: 'global';
  readonly module: string;
  readonly name: string;
}

export const isPyGlobal = (v: unknown): v is PyGlobal =>
  typeof v === 'object' && v !== null && (v as { kind?: unknown }).kind === 'global';

export const globalName = (g: PyGlobal): string => `${g.module}.${g.name}`;

export interface PickleHooks {
  /** `callable(*args)` (REDUCE) and `cls.__new__(cls, *args)` (NEWOBJ). */
  call(callable: unknown, args: unknown[]): unknown;
  /** BUILD: `obj.__setstate__(state)`; returns the object that stays on the stack. */
  build(obj: unknown, state: unknown): unknown;
  /** BINPERSID: the object a persistent id stands for. */
  persistentLoad(pid: unknown): unknown;
}

export interface Unpickled {
  value: unknown;
  /** The offset just past STOP (the legacy torch format has several pickles in a row). */
  end: number;
}

const MARK = Symbol('mark');

/** The longest LONG1 / LONG4 integer read, in bytes. */
const MAX_LONG_BYTES = 64;

/** Unpickles the pickle starting at `start`; `source` names the file in errors. */
export function unpickle(bytes: Uint8Array, hooks: PickleHooks, source: string, start = 0): Unpickled {
  const d = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const stack: unknown[] = [];
  const memo = new Map<number, unknown>();
  let p = start;
  const fail = (problem: string): never => {
    throw new Error(`${source}: pickle at byte ${p}: ${problem}`);
  };
  const need = (n: number) => {
    // A negative length would step back onto the opcode that gave it and read it again for ever.
    if (!(n >= 0)) fail(`a length of ${n} bytes`);
    if (p + n > bytes.byteLength) fail('ends early (truncated file?)');
  };
  const u8 = () => (need(1), bytes[p++]!);
  const u16 = () => (need(2), (p += 2), d.getUint16(p - 2, true));
  const i32 = () => (need(4), (p += 4), d.getInt32(p - 4, true));
  const u32 = () => (need(4), (p += 4), d.getUint32(p - 4, true));
  const u64 = () => (need(8), (p += 8), Number(d.getBigUint64(p - 8, true)));
  const take = (n: number) => (need(n), (p += n), bytes.subarray(p - n, p));
  const utf8 = (n: number) => new TextDecoder().decode(take(n));
  const latin1 = (n: number) => {
    // Byte = code point (Python's latin-1). In chunks: spreading a long string's bytes as
    // arguments overflows the call stack.
    const b = take(n);
    let s = '';
    for (let i = 0; i < b.length; i += 8192) s += String.fromCharCode(...b.subarray(i, i + 8192));
    return s;
  };
  const line = () => {
    const e = bytes.indexOf(0x0a, p);
    if (e < 0) fail('a GLOBAL name has no newline');
    const s = latin1(e - p);
    p++;
    return s;
  };
  const pop = () => (stack.length ? stack.pop() : fail('stack underflow'));
  const top = () => (stack.length ? stack[stack.length - 1] : fail('stack underflow'));
  const popMark = (): unknown[] => {
    const i = stack.lastIndexOf(MARK);
    if (i < 0) fail('no MARK to pop to');
    const items = stack.splice(i);
    items.shift();
    return items;
  };
  const long = (n: number): number | bigint => {
    // Decoding is quadratic in the length (a growing bigint per byte): a 4 MiB LONG4 would run for
    // hours. torch's largest is its 10-byte magic number.
    if (n > MAX_LONG_BYTES)
      fail(`an integer of ${n} bytes (a torch state dict's are at most ${MAX_LONG_BYTES})`);
    const b = take(n);
    let v = 0n;
    for (let i = n - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[i]!);
    if (n > 0 && b[n - 1]! & 0x80) v -= 1n << BigInt(8 * n);
    return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
  };
  const setItems = (dict: unknown, items: unknown[]) => {
    if (!(dict instanceof Map)) fail('SETITEM(S) on something that is not a dict');
    for (let i = 0; i + 1 < items.length; i += 2) (dict as Map<unknown, unknown>).set(items[i], items[i + 1]);
  };
  const global = (module: string, name: string): PyGlobal => ({ kind: 'global', module, name });

  for (;;) {
    const at = p;
    const op = u8();
    switch (op) {
      case 0x80: // PROTO
        if (u8() > 5) fail('pickle protocol above 5');
        break;
      case 0x95: // FRAME (protocol 4): a length hint only
        u64();
        break;
      case 0x2e: // STOP
        if (stack.length !== 1) fail(`STOP with ${stack.length} values on the stack`);
        return { value: stack[0], end: p };
      case 0x28: // MARK
        stack.push(MARK);
        break;
      case 0x30: // POP
        pop();
        break;
      case 0x31: // POP_MARK
        popMark();
        break;
      case 0x32: // DUP
        stack.push(top());
        break;
      case 0x4e: // NONE
        stack.push(null);
        break;
      case 0x88: // NEWTRUE
        stack.push(true);
        break;
      case 0x89: // NEWFALSE
        stack.push(false);
        break;
      case 0x4a: // BININT
        stack.push(i32());
        break;
      case 0x4b: // BININT1
        stack.push(u8());
        break;
      case 0x4d: // BININT2
        stack.push(u16());
        break;
      case 0x8a: // LONG1
        stack.push(long(u8()));
        break;
      case 0x8b: // LONG4
        stack.push(long(u32()));
        break;
      case 0x47: // BINFLOAT (big-endian)
        need(8);
        p += 8;
        stack.push(d.getFloat64(p - 8, false));
        break;
      case 0x58: // BINUNICODE
        stack.push(utf8(u32()));
        break;
      case 0x8c: // SHORT_BINUNICODE
        stack.push(utf8(u8()));
        break;
      case 0x8d: // BINUNICODE8
        stack.push(utf8(u64()));
        break;
      case 0x54: // BINSTRING (a Python 2 str)
        stack.push(latin1(i32()));
        break;
      case 0x55: // SHORT_BINSTRING
        stack.push(latin1(u8()));
        break;
      case 0x42: // BINBYTES
        stack.push(take(u32()).slice());
        break;
      case 0x43: // SHORT_BINBYTES
        stack.push(take(u8()).slice());
        break;
      case 0x8e: // BINBYTES8
        stack.push(take(u64()).slice());
        break;
      case 0x29: // EMPTY_TUPLE
        stack.push([]);
        break;
      case 0x74: // TUPLE
        stack.push(popMark());
        break;
      case 0x85: // TUPLE1
        stack.push([pop()]);
        break;
      case 0x86: {
        // TUPLE2
        const b = pop();
        stack.push([pop(), b]);
        break;
      }
      case 0x87: {
        // TUPLE3
        const c = pop();
        const b = pop();
        stack.push([pop(), b, c]);
        break;
      }
      case 0x5d: // EMPTY_LIST
        stack.push([]);
        break;
      case 0x6c: // LIST
        stack.push(popMark());
        break;
      case 0x61: {
        // APPEND
        const v = pop();
        const list = top();
        if (!Array.isArray(list)) fail('APPEND to something that is not a list');
        (list as unknown[]).push(v);
        break;
      }
      case 0x65: {
        // APPENDS
        const items = popMark();
        const list = top();
        if (!Array.isArray(list)) fail('APPENDS to something that is not a list');
        (list as unknown[]).push(...items);
        break;
      }
      case 0x7d: // EMPTY_DICT
        stack.push(new Map());
        break;
      case 0x64: {
        // DICT
        const m = new Map();
        setItems(m, popMark());
        stack.push(m);
        break;
      }
      case 0x73: {
        // SETITEM
        const v = pop();
        const k = pop();
        setItems(top(), [k, v]);
        break;
      }
      case 0x75: {
        // SETITEMS
        const items = popMark();
        setItems(top(), items);
        break;
      }
      case 0x63: {
        // GLOBAL
        const module = line();
        stack.push(global(module, line()));
        break;
      }
      case 0x93: {
        // STACK_GLOBAL
        const name = pop();
        const module = pop();
        if (typeof module !== 'string' || typeof name !== 'string') fail('STACK_GLOBAL needs two strings');
        stack.push(global(module as string, name as string));
        break;
      }
      case 0x52: {
        // REDUCE
        const args = pop();
        if (!Array.isArray(args)) fail('REDUCE arguments are not a tuple');
        stack.push(hooks.call(pop(), args as unknown[]));
        break;
      }
      case 0x81: {
        // NEWOBJ
        const args = pop();
        if (!Array.isArray(args)) fail('NEWOBJ arguments are not a tuple');
        stack.push(hooks.call(pop(), args as unknown[]));
        break;
      }
      case 0x62: {
        // BUILD
        const state = pop();
        stack.push(hooks.build(pop(), state));
        break;
      }
      case 0x51: // BINPERSID
        stack.push(hooks.persistentLoad(pop()));
        break;
      case 0x71: // BINPUT
        memo.set(u8(), top());
        break;
      case 0x72: // LONG_BINPUT
        memo.set(u32(), top());
        break;
      case 0x94: // MEMOIZE
        memo.set(memo.size, top());
        break;
      case 0x68: // BINGET
      case 0x6a: {
        // LONG_BINGET
        const k = op === 0x68 ? u8() : u32();
        if (!memo.has(k)) fail(`memo ${k} was never stored`);
        stack.push(memo.get(k));
        break;
      }
      default:
        p = at;
        return fail(
          `opcode 0x${op.toString(16).padStart(2, '0')} is not read by this unpickler (state dicts only)`,
        );
    }
  }
}
