/*
 * lbk_pnp.h - the Plug and Play state rules of a device (any mode, any OS): which state each
 * PnP request leaves it in, and which requests of applications it lets in meanwhile. The
 * Windows driver (windows/driver/pnp.c) decides with these; the native tests hold them to the
 * WDK's rules for every state and request, which Wine, sending only START, SURPRISE_REMOVAL
 * and REMOVE, cannot show.
 */
#ifndef LBK_PNP_H
#define LBK_PNP_H

#include "lbk_base.h"

enum lbk_pnp_state {
    LBK_PNP_NOT_STARTED,     /* added, no START yet */
    LBK_PNP_STARTED,         /* a legacy device is created in this state and stays in it */
    LBK_PNP_STOP_PENDING,    /* QUERY_STOP succeeded */
    LBK_PNP_STOPPED,         /* STOP: until the next START */
    LBK_PNP_REMOVE_PENDING,  /* QUERY_REMOVE succeeded */
    LBK_PNP_SURPRISE_REMOVED, /* gone: handles still open may only close */
    LBK_PNP_DELETED          /* REMOVE: nothing of it is left after this */
};

/* The PnP requests that change the state (IRP_MN_*); the others pass it by. */
enum lbk_pnp_event {
    LBK_PNP_START,            /* the lower drivers started it */
    LBK_PNP_QUERY_STOP,
    LBK_PNP_CANCEL_STOP,      /* the lower drivers finished it */
    LBK_PNP_STOP,
    LBK_PNP_QUERY_REMOVE,
    LBK_PNP_CANCEL_REMOVE,    /* the lower drivers finished it */
    LBK_PNP_SURPRISE_REMOVAL,
    LBK_PNP_REMOVE
};
#define LBK_PNP_EVENT_COUNT 8

/* What a device remembers: its state, and where a CANCEL_STOP or CANCEL_REMOVE goes back to. */
struct lbk_pnp {
    enum lbk_pnp_state state;
    enum lbk_pnp_state before_query;
};

/* A device added by AddDevice (plug_and_play 1) starts NOT_STARTED; a legacy one STARTED. */
void lbk_pnp_init(struct lbk_pnp *pnp, int plug_and_play);

/*
 * The state after the event. A query moves only a started device (one that is not started has
 * nothing to stop) and remembers where it was; a cancel goes back there only from the state its
 * query left (Windows may send a cancel whose query failed, or was never sent); START starts a
 * device that is not started, stopped or stop-pending; nothing brings a removed device back.
 */
enum lbk_pnp_state lbk_pnp_apply(struct lbk_pnp *pnp, enum lbk_pnp_event event);

/* What applications ask of a device. */
enum lbk_pnp_request {
    LBK_PNP_OPEN,  /* CREATE: a new handle */
    LBK_PNP_IO,    /* READ, WRITE, DEVICE_CONTROL on an open handle */
    LBK_PNP_CLOSE  /* CLEANUP, CLOSE */
};

enum lbk_pnp_admission {
    LBK_PNP_ADMIT,
    LBK_PNP_HOLD,          /* stopping or stopped: the request waits until START (or CANCEL_STOP) */
    LBK_PNP_NOT_READY,     /* not started, or a new handle while stopping or stopped: STATUS_DEVICE_NOT_READY */
    LBK_PNP_DELETE_PENDING /* being removed, or gone: STATUS_DELETE_PENDING */
};

/*
 * Whether the state lets the request in. A handle can always be closed. A started device takes
 * everything; one whose removal is queried keeps serving open handles but opens no new one;
 * stopping or stopped, what the open handles ask is held, to be served once started again, as a
 * WDM driver holds new requests during a stop (what was queued before stays queued), and no new
 * handle is opened.
 */
enum lbk_pnp_admission lbk_pnp_admit(enum lbk_pnp_state state, enum lbk_pnp_request request);

/* Removed (by surprise or not): nothing may be queued, and what was queued has been completed. */
int lbk_pnp_is_removed(enum lbk_pnp_state state);

/* "STARTED" and so on, for the log; never NULL. */
const char *lbk_pnp_state_name(enum lbk_pnp_state state);

#endif /* LBK_PNP_H */
