/*
 * lbk_security.h - who may open a device: a small SDDL subset turned into the bytes of a
 * self-relative security descriptor (any mode, any OS).
 *
 * The Windows driver applies what this builds to each device object before it can be opened, so
 * the binary layout is produced and unit-tested here rather than by the kernel's Rtl routines.
 * The accepted strings are the subset IoCreateDeviceSecure accepts (wdmsec):
 *
 *     D:[P](A;;rights;;;sid)...     one to LBK_SDDL_MAX_ACES allow entries, nothing else
 *
 * rights  two-letter codes GA GR GW GX FA FR FW FX RC SD WD WO, concatenated, or 0xHEX.
 *         Generic rights are stored mapped to the file rights they mean for a device object
 *         (GA = FA = 0x1F01FF, GR = FR, GW = FW, GX = FX), as the object manager would map them
 *         on Windows, so the descriptor read back is the same on every host.
 * sid     SY BA BU BG WD AU IU LS NS RC AN, or S-1-<authority>-<sub>... (up to 15 sub-authorities).
 *
 * No owner, group or SACL, no deny, audit or object entries, no inheritance flags: a device
 * object has no children, and a string that asks for more than the driver can apply is refused
 * rather than applied in part.
 */
#ifndef LBK_SECURITY_H
#define LBK_SECURITY_H

#include "lbk_base.h"

/* SYSTEM and Administrators, all access: SDDL_DEVOBJ_SYS_ALL_ADM_ALL, the driver's default. */
#define LBK_DEFAULT_SDDL "D:P(A;;GA;;;SY)(A;;GA;;;BA)"

#define LBK_SDDL_MAX_CHARS 512u
#define LBK_SDDL_MAX_ACES 16u
#define LBK_SID_MAX_SUB_AUTHORITIES 15u
/* Header 20, ACL header 8, and per entry 8 + SID (8 + 4 per sub-authority). */
#define LBK_SECURITY_DESCRIPTOR_MAX_BYTES (20u + 8u + LBK_SDDL_MAX_ACES * (8u + 8u + 4u * LBK_SID_MAX_SUB_AUTHORITIES))

enum lbk_sddl_error {
    LBK_SDDL_OK = 0,
    LBK_SDDL_EMPTY,          /* no characters */
    LBK_SDDL_TOO_LONG,       /* over LBK_SDDL_MAX_CHARS */
    LBK_SDDL_NOT_DACL,       /* does not start with "D:" (owner, group and SACL are not supported) */
    LBK_SDDL_BAD_FLAGS,      /* DACL flags other than none or "P" */
    LBK_SDDL_NO_ACES,        /* "D:" with no entry: nobody could open the device */
    LBK_SDDL_TOO_MANY_ACES,  /* over LBK_SDDL_MAX_ACES entries */
    LBK_SDDL_BAD_SYNTAX,     /* an entry not of the form (A;;rights;;;sid), or text after the last */
    LBK_SDDL_NOT_ALLOW,      /* an entry type other than A */
    LBK_SDDL_ACE_FLAGS,      /* entry flags (inheritance, audit), which a device object cannot use */
    LBK_SDDL_OBJECT_ACE,     /* an object or inherited-object GUID */
    LBK_SDDL_BAD_RIGHTS,     /* an unknown right, bad hex, or no rights at all */
    LBK_SDDL_BAD_SID         /* an unknown alias or a malformed S-1-... */
};

/* One line of English for the log or the tool; never NULL. */
const char *lbk_sddl_strerror(enum lbk_sddl_error error);

/*
 * Parses chars UTF-16 units of text (no terminator needed) and writes a self-relative security
 * descriptor with that DACL, in little-endian Windows layout, to out (at least
 * LBK_SECURITY_DESCRIPTOR_MAX_BYTES bytes). Returns LBK_SDDL_OK and its length in *bytes, or the
 * first error found, with *bytes 0; out may then hold anything. *offset (may be NULL) gets where
 * in text the error was found.
 */
enum lbk_sddl_error lbk_sddl_to_descriptor(const uint16_t *text, size_t chars, uint8_t *out, size_t *bytes,
                                           size_t *offset);

#endif /* LBK_SECURITY_H */
