/* resample.h - the resizes transformers applies to the position tables, on the host, per resolution.
 * Owns: bicubic resize of the absolute position grid and linear resize of relative-position tables (PyTorch rules). */
#ifndef VM_RESAMPLE_H
#define VM_RESAMPLE_H

/* pos[grid*grid, C] (row-major grid) -> out[h*w, C], F.interpolate(mode="bicubic", align_corners=False), A = -0.75.
 * Identity copy when h == w == grid. */
void vm_resize_pos_bicubic(const float *pos, int grid, int C, int h, int w, float *out);

/* table[L_in, d] -> out[L_out, d], F.interpolate(mode="linear", align_corners=False) along the first axis. */
void vm_resize_rel_pos_linear(const float *table, int L_in, int d, int L_out, float *out);

#endif
