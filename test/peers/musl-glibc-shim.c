/*
 * The few glibc symbols that Debian's libstdc++.so.6 and libgcc_s.so.1 ask of their C
 * library and musl does not have, so Bun's musl build can run on this Debian machine with
 * Debian's musl loader (test/peers/musl.ts). Built with musl-gcc under the name
 * ld-linux-x86-64.so.2, which Debian's libstdc++ lists as needed. A real musl host (Alpine)
 * has its own libstdc++ and libgcc and needs none of this.
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdlib.h>
#include <time.h>
#include <locale.h>
#include <pthread.h>
#include <sys/random.h>

/* 0: "maybe several threads", always safe (libstdc++ then takes its locks). */
char __libc_single_threaded = 0;
uint32_t arc4random(void) { uint32_t v = 0; while (getrandom(&v, sizeof v, 0) != sizeof v) {} return v; }
size_t __strftime_l(char *s, size_t n, const char *f, const struct tm *tm, locale_t l) { return strftime_l(s, n, f, tm, l); }
/* -1 makes libgcc's unwinder fall back to dl_iterate_phdr, which musl has. */
int _dl_find_object(void *pc, void *result) { (void)pc; (void)result; return -1; }
/* libgcc_s's CPU feature model; all zero is "no optional features". */
struct { unsigned int vendor, type, subtype, features[1]; } __cpu_model;
int __cpu_indicator_init(void) { return 0; }

/* thread_local destructors: run at thread exit, last registered first. */
struct dtor { void (*fn)(void *); void *obj; struct dtor *next; };
static pthread_key_t key;
static pthread_once_t once = PTHREAD_ONCE_INIT;
static void run_dtors(void *p) { for (struct dtor *d = p; d;) { struct dtor *n = d->next; d->fn(d->obj); free(d); d = n; } }
static void make_key(void) { pthread_key_create(&key, run_dtors); }
int __cxa_thread_atexit_impl(void (*fn)(void *), void *obj, void *dso) {
  (void)dso; pthread_once(&once, make_key);
  struct dtor *d = malloc(sizeof *d); if (!d) return -1;
  d->fn = fn; d->obj = obj; d->next = pthread_getspecific(key); pthread_setspecific(key, d); return 0;
}
