/*
 * lbk_pnp.c - the Plug and Play state rules (any mode, any OS). See lbk_pnp.h.
 */
#include "lbk_pnp.h"

void lbk_pnp_init(struct lbk_pnp *pnp, int plug_and_play)
{
    pnp->state = plug_and_play ? LBK_PNP_NOT_STARTED : LBK_PNP_STARTED;
    pnp->before_query = pnp->state;
}

int lbk_pnp_is_removed(enum lbk_pnp_state state)
{
    return state == LBK_PNP_SURPRISE_REMOVED || state == LBK_PNP_DELETED;
}

/* A query moves a started device only, and remembers that it was started. */
static void query(struct lbk_pnp *pnp, enum lbk_pnp_state pending)
{
    if (pnp->state != LBK_PNP_STARTED)
        return;
    pnp->before_query = pnp->state;
    pnp->state = pending;
}

static void cancel(struct lbk_pnp *pnp, enum lbk_pnp_state pending)
{
    if (pnp->state == pending)
        pnp->state = pnp->before_query;
}

enum lbk_pnp_state lbk_pnp_apply(struct lbk_pnp *pnp, enum lbk_pnp_event event)
{
    switch (event) {
    case LBK_PNP_START:
        if (pnp->state == LBK_PNP_NOT_STARTED || pnp->state == LBK_PNP_STOPPED || pnp->state == LBK_PNP_STOP_PENDING)
            pnp->state = LBK_PNP_STARTED;
        break;
    case LBK_PNP_QUERY_STOP:
        query(pnp, LBK_PNP_STOP_PENDING);
        break;
    case LBK_PNP_CANCEL_STOP:
        cancel(pnp, LBK_PNP_STOP_PENDING);
        break;
    case LBK_PNP_STOP:
        if (!lbk_pnp_is_removed(pnp->state))
            pnp->state = LBK_PNP_STOPPED;
        break;
    case LBK_PNP_QUERY_REMOVE:
        query(pnp, LBK_PNP_REMOVE_PENDING);
        break;
    case LBK_PNP_CANCEL_REMOVE:
        cancel(pnp, LBK_PNP_REMOVE_PENDING);
        break;
    case LBK_PNP_SURPRISE_REMOVAL:
        if (pnp->state != LBK_PNP_DELETED)
            pnp->state = LBK_PNP_SURPRISE_REMOVED;
        break;
    case LBK_PNP_REMOVE:
        pnp->state = LBK_PNP_DELETED;
        break;
    }
    return pnp->state;
}

enum lbk_pnp_admission lbk_pnp_admit(enum lbk_pnp_state state, enum lbk_pnp_request request)
{
    if (request == LBK_PNP_CLOSE || state == LBK_PNP_STARTED)
        return LBK_PNP_ADMIT;
    if (state == LBK_PNP_REMOVE_PENDING)
        return request == LBK_PNP_IO ? LBK_PNP_ADMIT : LBK_PNP_DELETE_PENDING;
    if (lbk_pnp_is_removed(state))
        return LBK_PNP_DELETE_PENDING;
    if ((state == LBK_PNP_STOP_PENDING || state == LBK_PNP_STOPPED) && request == LBK_PNP_IO)
        return LBK_PNP_HOLD;
    return LBK_PNP_NOT_READY;
}

const char *lbk_pnp_state_name(enum lbk_pnp_state state)
{
    switch (state) {
    case LBK_PNP_NOT_STARTED: return "NOT_STARTED";
    case LBK_PNP_STARTED: return "STARTED";
    case LBK_PNP_STOP_PENDING: return "STOP_PENDING";
    case LBK_PNP_STOPPED: return "STOPPED";
    case LBK_PNP_REMOVE_PENDING: return "REMOVE_PENDING";
    case LBK_PNP_SURPRISE_REMOVED: return "SURPRISE_REMOVED";
    case LBK_PNP_DELETED: return "DELETED";
    }
    return "UNKNOWN";
}
