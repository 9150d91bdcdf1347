/* test_hook.h - how the GUI tests (tests/gimp) play the user in the dialog; does nothing in normal use.
 * Owns: the commands read from the file $VITMATTE_GIMP_TEST_DIALOG names, and the report of what the dialog shows. */
#ifndef VMP_TEST_HOOK_H
#define VMP_TEST_HOOK_H

#include <libgimp/gimpui.h>

#define VMP_TEST_HOOK_ENV "VITMATTE_GIMP_TEST_DIALOG"

typedef struct vmp_test_hook_targets {
  GtkWidget *dialog;
  GimpProcedureConfig *config;
  GtkWidget *chooser; /* model_chooser.h */
  GtkWidget *preview; /* matte_preview.h: its part of the report is vmp_matte_preview_report's */
} vmp_test_hook_targets;

/* While the dialog is open and $VITMATTE_GIMP_TEST_DIALOG names a file that exists, the dialog reads one command from
 * it four times a second and deletes it:
 *   download NAME | stop | choose ID    the model chooser's Download, Stop, or an entry ("" = Automatic)
 *   set PROPERTY VALUE                  an argument, as the widgets would set it
 *   report FILE                         writes FILE: "model-line: ..." and the preview's state
 * Unset, or naming a missing file, nothing happens. */
void vmp_test_hook_install(const vmp_test_hook_targets *targets);

#endif
