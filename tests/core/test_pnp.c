/* test_pnp.c - the Plug and Play state rules, for every state and every request. */
#include <string.h>

#include "test_main.h"
#include "../../core/lbk_pnp.h"

#define NS LBK_PNP_NOT_STARTED
#define ST LBK_PNP_STARTED
#define SP LBK_PNP_STOP_PENDING
#define SD LBK_PNP_STOPPED
#define RP LBK_PNP_REMOVE_PENDING
#define SR LBK_PNP_SURPRISE_REMOVED
#define DL LBK_PNP_DELETED

/* A device put in state as the events that lead there would (queries remember STARTED). */
static struct lbk_pnp device_in(enum lbk_pnp_state state)
{
    struct lbk_pnp pnp;

    lbk_pnp_init(&pnp, 1);
    pnp.state = state;
    pnp.before_query = ST;
    return pnp;
}

/* The rules of lbk_pnp.h written out as a table (docs/driver.md has it too), row by state,
   column by event: START, QUERY_STOP, CANCEL_STOP, STOP, QUERY_REMOVE, CANCEL_REMOVE,
   SURPRISE_REMOVAL, REMOVE. */
static const enum lbk_pnp_state expected_next[7][LBK_PNP_EVENT_COUNT] = {
    [NS] = { ST, NS, NS, SD, NS, NS, SR, DL },
    [ST] = { ST, SP, ST, SD, RP, ST, SR, DL },
    [SP] = { ST, SP, ST, SD, SP, SP, SR, DL },
    [SD] = { ST, SD, SD, SD, SD, SD, SR, DL },
    [RP] = { RP, RP, RP, SD, RP, ST, SR, DL },
    [SR] = { SR, SR, SR, SR, SR, SR, SR, DL },
    [DL] = { DL, DL, DL, DL, DL, DL, DL, DL },
};

TEST(pnp_every_event_in_every_state)
{
    int state, event;

    for (state = NS; state <= DL; state++) {
        for (event = 0; event < LBK_PNP_EVENT_COUNT; event++) {
            struct lbk_pnp pnp = device_in((enum lbk_pnp_state)state);

            ASSERT_EQ(expected_next[state][event], lbk_pnp_apply(&pnp, (enum lbk_pnp_event)event));
            ASSERT_EQ(expected_next[state][event], pnp.state);
        }
    }
}

TEST(pnp_devices_start_where_they_should)
{
    struct lbk_pnp pnp;

    lbk_pnp_init(&pnp, 1);
    ASSERT_EQ(NS, pnp.state); /* AddDevice: nothing until START */
    lbk_pnp_init(&pnp, 0);
    ASSERT_EQ(ST, pnp.state); /* legacy: started at DriverEntry */
}

/* Cancels go back to where the query found the device, and only from its query's state. */
TEST(pnp_queries_and_cancels_round_trip)
{
    struct lbk_pnp pnp;

    lbk_pnp_init(&pnp, 1);
    ASSERT_EQ(ST, lbk_pnp_apply(&pnp, LBK_PNP_START));
    ASSERT_EQ(SP, lbk_pnp_apply(&pnp, LBK_PNP_QUERY_STOP));
    ASSERT_EQ(SP, lbk_pnp_apply(&pnp, LBK_PNP_CANCEL_REMOVE)); /* not its query's cancel */
    ASSERT_EQ(ST, lbk_pnp_apply(&pnp, LBK_PNP_CANCEL_STOP));
    ASSERT_EQ(RP, lbk_pnp_apply(&pnp, LBK_PNP_QUERY_REMOVE));
    ASSERT_EQ(ST, lbk_pnp_apply(&pnp, LBK_PNP_CANCEL_REMOVE));
    /* Rebalancing: stop, then start again. */
    ASSERT_EQ(SP, lbk_pnp_apply(&pnp, LBK_PNP_QUERY_STOP));
    ASSERT_EQ(SD, lbk_pnp_apply(&pnp, LBK_PNP_STOP));
    ASSERT_EQ(SD, lbk_pnp_apply(&pnp, LBK_PNP_CANCEL_STOP)); /* too late: STOP came */
    ASSERT_EQ(ST, lbk_pnp_apply(&pnp, LBK_PNP_START));
    /* A cancel whose query never came changes nothing. */
    ASSERT_EQ(ST, lbk_pnp_apply(&pnp, LBK_PNP_CANCEL_REMOVE));
    ASSERT_EQ(ST, lbk_pnp_apply(&pnp, LBK_PNP_CANCEL_STOP));
    /* Removal: a surprise first (as Wine always does), then REMOVE; nothing revives it. */
    ASSERT_EQ(SR, lbk_pnp_apply(&pnp, LBK_PNP_SURPRISE_REMOVAL));
    ASSERT_EQ(SR, lbk_pnp_apply(&pnp, LBK_PNP_START));
    ASSERT_EQ(DL, lbk_pnp_apply(&pnp, LBK_PNP_REMOVE));
    ASSERT_EQ(DL, lbk_pnp_apply(&pnp, LBK_PNP_START));
}

/* Row by state, column by OPEN, IO, CLOSE. */
static const enum lbk_pnp_admission expected_admission[7][3] = {
    [NS] = { LBK_PNP_NOT_READY, LBK_PNP_NOT_READY, LBK_PNP_ADMIT },
    [ST] = { LBK_PNP_ADMIT, LBK_PNP_ADMIT, LBK_PNP_ADMIT },
    [SP] = { LBK_PNP_NOT_READY, LBK_PNP_HOLD, LBK_PNP_ADMIT },
    [SD] = { LBK_PNP_NOT_READY, LBK_PNP_HOLD, LBK_PNP_ADMIT },
    [RP] = { LBK_PNP_DELETE_PENDING, LBK_PNP_ADMIT, LBK_PNP_ADMIT },
    [SR] = { LBK_PNP_DELETE_PENDING, LBK_PNP_DELETE_PENDING, LBK_PNP_ADMIT },
    [DL] = { LBK_PNP_DELETE_PENDING, LBK_PNP_DELETE_PENDING, LBK_PNP_ADMIT },
};

TEST(pnp_admission_in_every_state)
{
    int state, request;

    for (state = NS; state <= DL; state++) {
        for (request = LBK_PNP_OPEN; request <= LBK_PNP_CLOSE; request++)
            ASSERT_EQ(expected_admission[state][request],
                      lbk_pnp_admit((enum lbk_pnp_state)state, (enum lbk_pnp_request)request));
        ASSERT_EQ(state == SR || state == DL, lbk_pnp_is_removed((enum lbk_pnp_state)state));
        ASSERT_TRUE(strcmp(lbk_pnp_state_name((enum lbk_pnp_state)state), "UNKNOWN") != 0);
    }
}
