/* xml.h - the little XML the Blob service speaks: a writer for response
 * bodies (escaped text, elements in order) and a strict parser for the few
 * request bodies it reads (block lists, service properties). */
#ifndef CHSM_BLOB_XML_H
#define CHSM_BLOB_XML_H

#include "util/buf.h"

#include <stddef.h>
#include <stdint.h>

/* ---- writer ---- */

/* chsm_xml_begin starts a document with the XML declaration Azure sends. */
void chsm_xml_begin(chsm_buf *b);
/* chsm_xml_text appends text with &, <, >, " and ' escaped. */
void chsm_xml_text(chsm_buf *b, const char *text);
/* chsm_xml_open appends <tag>. */
void chsm_xml_open(chsm_buf *b, const char *tag);
/* chsm_xml_close appends </tag>. */
void chsm_xml_close(chsm_buf *b, const char *tag);
/* chsm_xml_elem appends <tag>text</tag>, or <tag /> when text is NULL or empty. */
void chsm_xml_elem(chsm_buf *b, const char *tag, const char *text);
/* chsm_xml_elem_u64 appends <tag>n</tag>. */
void chsm_xml_elem_u64(chsm_buf *b, const char *tag, uint64_t n);

/* ---- parser ---- */

typedef struct chsm_xml_node {
    char *name;                      /* element name, without namespace prefix handling */
    char *text;                      /* concatenated character data (entities decoded) */
    struct chsm_xml_node **children; /* child elements in document order */
    size_t nchildren;
} chsm_xml_node;

/* chsm_xml_parse parses one document of len bytes into a tree (caller frees
 * with chsm_xml_free); NULL on malformed input, too deep nesting or no memory,
 * with a message in err. Attributes are checked for syntax and dropped; DTDs
 * are refused. */
chsm_xml_node *chsm_xml_parse(const char *data, size_t len, char *err, size_t errlen);
/* chsm_xml_child returns the first child element named name, or NULL. */
const chsm_xml_node *chsm_xml_child(const chsm_xml_node *n, const char *name);
/* chsm_xml_free releases a tree. */
void chsm_xml_free(chsm_xml_node *n);

#endif
