/* matte_dialog.h - the interactive dialog of Filters > Matting > ViTMatte...
 * Owns: laying out the procedure's arguments and asking the user for them. */
#ifndef VMP_MATTE_DIALOG_H
#define VMP_MATTE_DIALOG_H

#include <libgimp/gimp.h>

/* Shows the dialog with `config`'s values (the last used ones); TRUE when the user pressed OK, with `config`
 * updated. */
gboolean vmp_matte_dialog_run(GimpProcedure *procedure, GimpProcedureConfig *config);

#endif
