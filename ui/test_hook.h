/* test_hook.h - how the GUI tests (tests/gimp) play the user in the dialog; does nothing in normal use.
 * Owns: the commands read from the file $VITMATTE_GIMP_TEST_DIALOG names, and the report of what the dialog shows. */
#ifndef VMP_TEST_HOOK_H
#define VMP_TEST_HOOK_H

#include <libgimp/gimpui.h>

#define VMP_TEST_HOOK_ENV "VITMATTE_GIMP_TEST_DIALOG"

/* What a report says about the preview (matte_preview.h fills it in): appended to `report` as "key: value" lines;
 * `file` is the report's path, for files written beside it. */
typedef void (*vmp_test_report_fn)(GtkWidget *preview, GString *report, const gchar *file);

typedef struct vmp_test_hook_targets {
  GtkWidget *dialog;
  GimpProcedureConfig *config;
  GtkWidget *chooser;             /* model_chooser.h */
  GtkWidget *preview;             /* matte_preview.h, or NULL */
  vmp_test_report_fn report_preview;
} vmp_test_hook_targets;

/* While the dialog is open and $VITMATTE_GIMP_TEST_DIALOG names a file that exists, the dialog reads one command from
 * it four times a second and deletes it:
 *   download NAME | stop | choose ID    the model chooser's Download, Stop, or an entry ("" = Automatic)
 *   set PROPERTY VALUE                  an argument, as the widgets would set it
 *   report FILE                         writes FILE: "model-line: ..." and the preview's state
 * Unset, or naming a missing file, nothing happens. */
void vmp_test_hook_install(const vmp_test_hook_targets *targets);

#endif
