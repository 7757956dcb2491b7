#!/usr/bin/python3
# Pilot (issue 18): how much a pretrained 10-class model already sees the fine-tuning task's
# garments, without fine-tuning. Evaluate the pretraining run on the fine-tuning task with all
# ten classes (places meadow, sea, ... as with classes binary) and the ood split, e.g.
#   aimrun evaluate --run outputs/runs/<pretrain-id> --out pre.h5 dataset.task=finetune \
#     dataset.classes=all dataset.ood_size=2000 dataset.correlation=1.0 'eval.splits=[test,ood]'
# then: experiments/pilots/zero_shot.py pre.h5. Per place: a top (T-shirt, pullover, coat,
# shirt) counts right when any top class is predicted, footwear (sandal, sneaker, ankle boot)
# likewise; trouser, dress and bag are left out.
import h5py, numpy as np, sys
f = h5py.File(sys.argv[1])
tops, foot = {0,2,4,6}, {5,7,9}
for split in ['test','ood']:
    s = f[f'eval/{split}/samples']; lab = s['label'][:]; pred = s['pred'][:]; grp = s['group'][:]
    names = [n.decode() if isinstance(n, bytes) else n for n in f[f'eval/{split}/groups/name'][:]]
    nplace = len(names)//10
    place = grp % nplace
    keep = np.isin(lab, list(tops|foot))
    bt = np.isin(lab, list(tops)); bp = np.isin(pred, list(tops)); fp = np.isin(pred, list(foot))
    ok = np.where(bt, bp, fp)
    for pl in range(nplace):
        m = keep & (place == pl)
        print(split, names[pl].split('@')[1], 'binary-mapped acc %.1f%%' % (100*ok[m].mean()), 'n', m.sum(), '10-class acc %.1f%%' % (100*(pred[m]==lab[m]).mean()))
