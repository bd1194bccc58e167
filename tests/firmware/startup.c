/* Reset and fault handling for the firmware test image on QEMU mps2-an386:
 * the vector table, .bss cleared, semihosting opened for stdout, main's
 * status reported through semihosting exit. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

extern char __bss_start__[], __bss_end__[], __stack_top[];
extern int main(void);
extern void initialise_monitor_handles(void);

void reset_handler(void);
static void fault_handler(void);

/* Initial stack pointer, then the handlers: reset, NMI, hard fault, memory
 * management, bus and usage faults. */
__attribute__((section(".vectors"), used)) static const uintptr_t vectors[16] = {
    (uintptr_t)__stack_top,   (uintptr_t)reset_handler, (uintptr_t)fault_handler,
    (uintptr_t)fault_handler, (uintptr_t)fault_handler, (uintptr_t)fault_handler,
    (uintptr_t)fault_handler,
};

void reset_handler(void)
{
    memset(__bss_start__, 0, (size_t)(__bss_end__ - __bss_start__));
    initialise_monitor_handles();
    exit(main());
}

/* A fault ends the run with a failure instead of hanging until the
 * timeout. */
static void fault_handler(void)
{
    _Exit(70);
}
