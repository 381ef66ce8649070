/* Connection-state recovery for one namespace: the log of stored packets
 * (every server → client EVENT without an ack id that is not volatile,
 * tagged with an offset and the rooms it went to) and the sessions of
 * sockets that went away without saying goodbye. Within the window a
 * client that comes back with {pid, offset} gets its socket id and rooms
 * back, and the packets it missed. Entries older than the window are
 * dropped, and the log has a hard cap, so memory stays bounded. No I/O. */
#ifndef HB_SIO_RECOVERY_H
#define HB_SIO_RECOVERY_H

#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"

#define HB_SIO_OFFSET_LEN 24           /* characters of an offset, at most */
#define HB_SIO_LOG_MAX_ENTRIES 100000  /* oldest packets go first past this */
#define HB_SIO_LOG_MAX_SESSIONS 200000

typedef struct hb_sio_log hb_sio_log;

/* A restored session: its socket id, rooms, and the packets it missed,
 * each as the Engine.IO messages to send (text, then attachments). Owned
 * by the caller; release with hb_sio_restored_free(). */
typedef struct hb_sio_restored {
    char sid[21];
    char **rooms;
    size_t *room_lens;
    size_t nrooms;
    hb_buf ***packets;   /* packets[i] is an array of npackets_msgs[i] bufs */
    size_t *packet_msgs;
    size_t npackets;
} hb_sio_restored;

/* A log keeping packets and sessions for window_ms. NULL on ENOMEM. */
hb_sio_log *hb_sio_log_new(unsigned window_ms);
void hb_sio_log_free(hb_sio_log *log);

/* Writes the offset the next stored packet carries (NUL-terminated). */
void hb_sio_log_next_offset(const hb_sio_log *log, char out[HB_SIO_OFFSET_LEN + 1]);
/* Stores the packet whose offset hb_sio_log_next_offset() gave, sent at
 * now_ms to the rooms to (every socket when nto is 0) except the rooms of
 * except. msgs are referenced, names copied. Returns 0 or HB_ENOMEM. */
int hb_sio_log_store(hb_sio_log *log, uint64_t now_ms, const hb_slice *to, size_t nto,
                     const hb_slice *except, size_t nexcept, hb_buf *const *msgs, size_t nmsgs);

/* Keeps the session pid of socket sid, in rooms, from now_ms. Returns 0 or
 * HB_ENOMEM. */
int hb_sio_log_save(hb_sio_log *log, uint64_t now_ms, const char *pid, const char *sid,
                    const hb_slice *rooms, size_t nrooms);
/* Takes session pid back if it is still in the window and offset is a
 * packet the log still holds, filling out with the packets after offset
 * that went to one of the session's rooms and not to an excluded one.
 * Returns 1 (restored; the session is forgotten), 0 (unknown, expired, or
 * the offset is gone: connect afresh) or HB_ENOMEM. */
int hb_sio_log_restore(hb_sio_log *log, uint64_t now_ms, const char *pid, const char *offset,
                       hb_sio_restored *out);
void hb_sio_restored_free(hb_sio_restored *r);

/* Forgets packets and sessions older than the window. */
void hb_sio_log_purge(hb_sio_log *log, uint64_t now_ms);
size_t hb_sio_log_packets(const hb_sio_log *log);
size_t hb_sio_log_sessions(const hb_sio_log *log);

#endif
