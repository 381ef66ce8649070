/* The permissions of a hub connection, as Azure Web PubSub names them:
 * "sendToGroup" and "joinLeaveGroup", for every group or for one. They
 * come from the client token's roles ("webpubsub.sendToGroup",
 * "webpubsub.joinLeaveGroup.<group>") and from the REST calls
 * grantPermission / revokePermission, and are read by hasPermission.
 * Socket.IO clients only ever talk to their app server, so nothing here
 * is enforced on them; the set only reports what was given.
 *
 * A set is one malloc'd block of NUL-terminated entries, "perm" or
 * "perm.group", ended by an empty one; NULL is the empty set, so a
 * connection without permissions costs nothing. */
#ifndef HB_HUB_PERM_H
#define HB_HUB_PERM_H

/* 1 when perm is a permission Azure knows. */
int hb_perm_known(const char *perm);

/* Adds perm (known) for group target, or for every group when target is
 * NULL. Returns 0, HB_EINVAL for an unknown perm, HB_ENOMEM. */
int hb_perm_grant(char **set, const char *perm, const char *target);

/* Takes perm for target away; with target NULL, perm for every group and
 * each single group. */
void hb_perm_revoke(char **set, const char *perm, const char *target);

/* 1 when set gives perm for target (NULL: for every group). */
int hb_perm_has(const char *set, const char *perm, const char *target);

/* A token role: "webpubsub.<perm>[.<group>]" grants that; any other role
 * is the app's business and is left alone. Returns as hb_perm_grant, 0
 * for a role that is not a permission. */
int hb_perm_grant_role(char **set, const char *role);

#endif
