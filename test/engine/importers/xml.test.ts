import { describe, expect, it } from 'vitest';
import { parseXml, xmlChild, xmlChildren, xmlChildText } from '../../../src-main/engine/data/importers/xml';

const voc = `<?xml version="1.0" encoding="utf-8"?>
<!-- written by a labelling tool -->
<annotation verified="no">
  <folder>VOC2007</folder>
  <filename>000001.jpg</filename>
  <size><width>353</width><height>500</height><depth>3</depth></size>
  <object>
    <name>dog</name>
    <difficult>0</difficult>
    <bndbox><xmin>48</xmin><ymin>240</ymin><xmax>195</xmax><ymax>371</ymax></bndbox>
  </object>
  <object>
    <name>Tom &amp; Jerry&#x21;</name>
    <note><![CDATA[a <raw> section & more]]></note>
    <empty/>
  </object>
</annotation>
`;

describe('parseXml', () => {
  it('parses the VOC subset with line numbers, attributes, entities, CDATA and self-closing tags', () => {
    const r = parseXml(voc);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    const root = r.root;
    expect(root.name).toBe('annotation');
    expect(root.line).toBe(3);
    expect(root.attributes.verified).toBe('no');
    expect(xmlChildText(root, 'filename')).toBe('000001.jpg');
    expect(xmlChildText(xmlChild(root, 'size')!, 'height')).toBe('500');
    const objects = xmlChildren(root, 'object');
    expect(objects.map((o) => o.line)).toEqual([7, 12]);
    expect(xmlChildText(objects[0]!, 'name')).toBe('dog');
    expect(xmlChildText(xmlChild(objects[0]!, 'bndbox')!, 'xmax')).toBe('195');
    expect(xmlChildText(objects[1]!, 'name')).toBe('Tom & Jerry!');
    expect(xmlChildText(objects[1]!, 'note')).toBe('a <raw> section & more');
    expect(xmlChild(objects[1]!, 'empty')).toMatchObject({ children: [], text: '', line: 15 });
  });

  const errorCases: [string, string, number, number, RegExp][] = [
    ['mismatched closing tag', '<a>\n  <b>x</c>\n</a>', 2, 7, /<\/c> does not match <b> opened on line 2/],
    ['element never closed', '<a>\n<b>\ntext', 3, 5, /<b> opened on line 2 is never closed/],
    ['unquoted attribute', '<a x=1></a>', 1, 6, /must be quoted/],
    ['unknown entity', '<a>\n\n  fish &chips; </a>', 3, 8, /unknown entity &chips;/],
    ['bare ampersand', '<a>R&D</a>', 1, 5, /'&' must start an entity/],
    ['text after the root', '<a/>\nextra', 2, 1, /content after the root element/],
    ['two roots', '<a/>\n<b/>', 2, 1, /content after the root element/],
    ['empty document', '  \n ', 2, 2, /no root element/],
    ['unterminated comment', '<a><!-- oops </a>', 1, 4, /unterminated comment/],
    ['bad tag name', '<a>\n <1x/></a>', 2, 3, /expected a name/],
    ['duplicate attribute', '<a x="1" x="2"/>', 1, 10, /duplicate attribute x/],
  ];
  for (const [what, text, line, column, message] of errorCases) {
    it(`reports ${what} with line and column`, () => {
      const r = parseXml(text);
      expect(r.ok).toBe(false);
      if (r.ok) return;
      expect(r.error.message).toMatch(message);
      expect([r.error.line, r.error.column]).toEqual([line, column]);
    });
  }
});
